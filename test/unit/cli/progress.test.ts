import { PLAIN_INTERVAL_MS, progressOn } from '../../../infra/cli/progress';

describe('cli/progress', () => {
  describe('progressOn()', () => {
    it('rewrites one line in place on a terminal, fitted to its width, and wipes it when done', () => {
      // Arrange
      const written: string[] = [];
      const progress = progressOn({ write: (t) => written.push(t), isTTY: true, columns: 20 });

      // Act
      progress.update('read 1 of 3');
      progress.update('read 2 of 3 partitions of this person');
      progress.done();
      progress.done();

      // Assert
      expect(written).toEqual([
        '\r\u001b[Kread 1 of 3',
        '\r\u001b[Kread 2 of 3 partit…',
        '\r\u001b[K',
      ]);
      expect(written.join('')).not.toContain('\n');
    });

    it('writes a plain line now and then when stderr is not a terminal, none in the first interval', () => {
      // Arrange
      let now = 0;
      const written: string[] = [];
      const progress = progressOn({ write: (t) => written.push(t) }, () => now);

      // Act
      progress.update('moved 10 messages');
      now += PLAIN_INTERVAL_MS;
      progress.update('moved 20 messages');
      now += 1_000;
      progress.update('moved 30 messages');
      now += PLAIN_INTERVAL_MS;
      progress.update('moved 40 messages');
      progress.done();

      // Assert
      expect(written).toEqual(['moved 20 messages\n', 'moved 40 messages\n']);
    });
  });
});
