import { recordOrHandOver, SendNotRecordedError } from '../../../shared/login-connect/record-send';
import type { SentJob } from '../../../shared/messages';
import type { RecordOutcome } from '../../../shared/store/optin-store';

const T0 = 1_000_000;
const job: SentJob = {
  v: 1,
  kind: 'sent',
  target: 'optin',
  id: 'login-1',
  pageId: 'page-1',
  owner: 'owner-1',
  messageId: 'm_1',
  sentAt: T0,
};

/** A clock that only moves when the code under test waits. */
function fakeTime() {
  let now = T0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('record-send', () => {
  describe('recordOrHandOver()', () => {
    it('retries a failing record until it is written, and hands nothing over', async () => {
      // Arrange
      const time = fakeTime();
      const handOver = jest.fn();
      let calls = 0;
      const record = async (): Promise<RecordOutcome> => {
        calls += 1;
        if (calls < 4) throw new Error('TransactionConflict');
        return 'recorded';
      };

      // Act
      const result = await recordOrHandOver(record, () => job, T0 + 35_000, { ...time, handOver });

      // Assert
      expect(result).toMatchObject({ result: 'recorded', tries: 4 });
      expect(handOver).not.toHaveBeenCalled();
    });

    it('hands the send over before the lease ends when the record keeps failing', async () => {
      const time = fakeTime();
      const handed: SentJob[] = [];
      const record = async (): Promise<RecordOutcome> => {
        throw new Error('throttled');
      };

      const result = await recordOrHandOver(record, () => job, T0 + 5_000, {
        ...time,
        handOver: async (j) => {
          handed.push(j);
        },
      });

      expect(result.result).toBe('handed_over');
      expect(handed).toEqual([job]);
      expect(time.now()).toBeLessThan(T0 + 5_000 - 1_000);
    });

    it('stops retrying after 10 s even when the lease is longer', async () => {
      const time = fakeTime();
      const record = async (): Promise<RecordOutcome> => {
        throw new Error('500');
      };

      await recordOrHandOver(record, () => job, T0 + 300_000, {
        ...time,
        handOver: async () => {},
      });

      expect(time.now()).toBeLessThanOrEqual(T0 + 10_000);
      expect(time.now()).toBeGreaterThan(T0 + 8_000);
    });

    it('hands over when a record call hangs, without waiting for it', async () => {
      const handed: SentJob[] = [];
      const hangs = () => new Promise<RecordOutcome>(() => {});
      const started = Date.now();

      const result = await recordOrHandOver(hangs, () => job, started + 2_150, {
        now: Date.now,
        handOver: async (j) => {
          handed.push(j);
        },
      });

      expect(result.result).toBe('handed_over');
      expect(handed).toEqual([job]);
      // The first try gets its minimum second, then the deadline has passed: no second try.
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(Date.now() - started).toBeLessThan(1_800);
    });

    it("hands over before the invocation's own deadline, even with a longer lease", async () => {
      const time = fakeTime();
      const record = async (): Promise<RecordOutcome> => {
        throw new Error('throttled');
      };

      const result = await recordOrHandOver(record, () => job, T0 + 35_000, {
        ...time,
        invocationEndsAt: () => T0 + 5_000,
        handOver: async () => {},
      });

      expect(result.result).toBe('handed_over');
      expect(time.now()).toBeLessThanOrEqual(T0 + 4_000);
    });

    it('returns what the store found: a second send is reported, not retried', async () => {
      const time = fakeTime();
      const record = jest.fn(async (): Promise<RecordOutcome> => 'already_sent');

      const result = await recordOrHandOver(record, () => job, T0 + 35_000, {
        ...time,
        handOver: async () => {},
      });

      expect(result).toMatchObject({ result: 'already_sent', tries: 1 });
      expect(record).toHaveBeenCalledTimes(1);
    });

    it('throws SendNotRecordedError naming the message when the queue refuses the hand-over too', async () => {
      const time = fakeTime();
      const record = async (): Promise<RecordOutcome> => {
        throw new Error('DynamoDB down');
      };

      const attempt = recordOrHandOver(record, () => job, T0 + 5_000, {
        ...time,
        handOver: async () => {
          throw new Error('SQS down');
        },
      });

      await expect(attempt).rejects.toBeInstanceOf(SendNotRecordedError);
      await expect(attempt).rejects.toThrow(/m_1/);
    });
  });
});
