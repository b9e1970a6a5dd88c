import {
  ceilingArithmetic,
  dynamoCeiling,
  dynamoPerMessage,
  fasterFloor,
  markdownTable,
  parseMachineCpu,
  parseProcStat,
  percentile,
  verdict,
} from '../../bench/measure';

describe('bench measure', () => {
  describe('percentile()', () => {
    it('takes the nearest rank, whatever the order of the values', () => {
      // Arrange
      const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100…1

      // Act / Assert
      expect(percentile(values, 50)).toBe(50);
      expect(percentile(values, 99)).toBe(99);
      expect(percentile(values, 100)).toBe(100);
      expect(percentile(values, 0)).toBe(1);
    });

    it('gives the single value for any percentile, and NaN for none', () => {
      expect(percentile([7], 99)).toBe(7);
      expect(percentile([], 50)).toBeNaN();
    });

    it('does not reorder the caller’s array', () => {
      const values = [3, 1, 2];
      percentile(values, 50);
      expect(values).toEqual([3, 1, 2]);
    });
  });

  describe('parseProcStat()', () => {
    it('reads the parent, utime and stime counted after the command name', () => {
      // Arrange: proc(5) fields 1–17 of a real line.
      const line = '4242 (java) S 4200 4242 4200 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 40 0';

      // Act
      const stat = parseProcStat(line);

      // Assert
      expect(stat).toEqual({ pid: 4242, comm: 'java', ppid: 4200, utime: 1234, stime: 567 });
    });

    it('reads a command name holding spaces and parentheses', () => {
      const line = '77 (node (worker) x) R 1 77 77 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0';

      expect(parseProcStat(line)).toEqual({
        pid: 77,
        comm: 'node (worker) x',
        ppid: 1,
        utime: 10,
        stime: 20,
      });
    });

    it('throws on a line that is not a stat line', () => {
      expect(() => parseProcStat('no parentheses here')).toThrow('not a /proc/<pid>/stat line');
      expect(() => parseProcStat('1 (short) S 0')).toThrow('has no field');
    });
  });

  describe('parseMachineCpu()', () => {
    it('counts idle and iowait as not busy, everything else as busy', () => {
      // user nice system idle iowait irq softirq steal guest guest_nice
      const text = 'cpu  100 5 50 1000 20 3 2 1 40 0\ncpu0 50 2 25 500 10 1 1 0 20 0\n';

      expect(parseMachineCpu(text)).toEqual({ busy: 161, total: 1181 });
    });
  });

  describe('dynamoPerMessage()', () => {
    it('keeps the DynamoDB operations, without their prefix, per first message', () => {
      const counts = { 'DynamoDB.TransactWriteItems': 1000, 'DynamoDB.GetItem': 25, 'SQS.X': 9 };

      expect(dynamoPerMessage(counts, 500)).toEqual({ TransactWriteItems: 2, GetItem: 0.05 });
    });
  });

  describe('dynamoCeiling()', () => {
    const floor = { transactionsPerSecond: 200, conditionalWritesPerSecond: 500 };

    it('is the floor divided by the requests per first message when all are transactions', () => {
      const ceiling = dynamoCeiling({ TransactWriteItems: 2 }, floor);

      expect(ceiling.messagesPerSecond).toBeCloseTo(100);
      expect(ceiling.requestsPerMessage).toBe(2);
      expect(ceilingArithmetic(ceiling)).toBe(
        '200 TransactWriteItems/s ÷ 2.00 TransactWriteItems per first message',
      );
    });

    it('holds transactions to the transaction floor and other requests to the single write’s', () => {
      // 1 transaction at 200/s (5 ms) + 1 update at 500/s (2 ms) = 7 ms per first message.
      const ceiling = dynamoCeiling({ TransactWriteItems: 1, UpdateItem: 1, Query: 0 }, floor);

      expect(ceiling.messagesPerSecond).toBeCloseTo(1000 / 7);
      expect(ceiling.terms.map((t) => [t.operation, t.floorKind])).toEqual([
        ['TransactWriteItems', 'transaction'],
        ['UpdateItem', 'conditional write'],
      ]);
      expect(ceilingArithmetic(ceiling)).toBe(
        '1 ÷ (1.00 TransactWriteItems ÷ 200/s + 1.00 UpdateItem ÷ 500/s)',
      );
    });

    it('has no ceiling without DynamoDB requests', () => {
      expect(dynamoCeiling({}, floor).messagesPerSecond).toBe(Number.POSITIVE_INFINITY);
    });
  });

  describe('fasterFloor()', () => {
    it('takes the faster measure of each kind', () => {
      expect(
        fasterFloor(
          { transactionsPerSecond: 150, conditionalWritesPerSecond: 600 },
          { transactionsPerSecond: 180, conditionalWritesPerSecond: 400 },
        ),
      ).toEqual({ transactionsPerSecond: 180, conditionalWritesPerSecond: 600 });
    });
  });

  describe('verdict()', () => {
    it('passes a throughput at or above its target and misses one below', () => {
      expect(verdict(80, 80, 'atLeast')).toBe('PASS');
      expect(verdict(79.9, 80, 'atLeast')).toBe('MISS');
    });

    it('passes a latency at or under its target and misses one above', () => {
      expect(verdict(1000, 1000, 'atMost')).toBe('PASS');
      expect(verdict(1001, 1000, 'atMost')).toBe('MISS');
    });

    it('misses what could not be measured', () => {
      expect(verdict(Number.NaN, 1000, 'atMost')).toBe('MISS');
    });
  });

  describe('markdownTable()', () => {
    it('pads every column to its widest cell', () => {
      expect(markdownTable(['a', 'bb'], [['xxx', 'y']])).toBe(
        ['| a   | bb |', '| --- | -- |', '| xxx | y  |'].join('\n'),
      );
    });
  });
});
