import {
  type EventSourceSettings,
  type InvocationOutcome,
  type SourceMessage,
  SqsEventSource,
} from '../../../infra/local/sqs-event-source';

/** A second of long polling lasts this long in these tests. */
const SECOND_MS = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An in-memory queue: receive hands out visible messages, long polls wait for a send. */
class FakeQueue {
  private visible: SourceMessage[] = [];
  private waiters: Array<() => void> = [];
  private next = 0;
  readonly deleted: string[] = [];
  readonly receives: Array<{ max: number; waitSeconds: number; got: number }> = [];

  send(count: number): string[] {
    const ids = Array.from({ length: count }, () => `m${this.next++}`);
    this.visible.push(...ids.map((id) => ({ messageId: id, receiptHandle: `rh-${id}` })));
    for (const wake of this.waiters.splice(0)) wake();
    return ids;
  }

  get waiting(): number {
    return this.visible.length;
  }

  async receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<SourceMessage[]> {
    if (this.visible.length === 0 && waitSeconds > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, waitSeconds * SECOND_MS);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    }
    const got = this.visible.splice(0, max);
    this.receives.push({ max, waitSeconds, got: got.length });
    return got;
  }

  /** How long each delete takes. */
  deleteMs = 0;

  async delete(messages: SourceMessage[]): Promise<void> {
    if (messages.length > 10) throw new Error('DeleteMessageBatch takes 10 at most');
    if (this.deleteMs > 0) await sleep(this.deleteMs);
    this.deleted.push(...messages.map((m) => m.messageId));
  }
}

/** A function whose invocations take `ms` and answer `answer(batch)`. */
class FakeFunction {
  readonly batches: Array<{ ids: string[]; at: number }> = [];
  private running = 0;
  /** Concurrent invocations, sampled at each start and end. */
  readonly concurrency: number[] = [];

  constructor(
    private readonly ms: number,
    private readonly answer: (ids: string[]) => InvocationOutcome = () => ({
      kind: 'returned',
      failedIds: [],
    }),
  ) {}

  async invoke(messages: SourceMessage[]): Promise<InvocationOutcome> {
    const ids = messages.map((m) => m.messageId);
    this.batches.push({ ids, at: Date.now() });
    this.running += 1;
    this.concurrency.push(this.running);
    await sleep(this.ms);
    this.running -= 1;
    this.concurrency.push(this.running);
    return this.answer(ids);
  }

  get peak(): number {
    return Math.max(0, ...this.concurrency);
  }
}

const sources: Array<SqsEventSource<SourceMessage>> = [];

function start(
  queue: FakeQueue,
  fn: FakeFunction,
  settings: Partial<EventSourceSettings> = {},
): SqsEventSource<SourceMessage> {
  const source = new SqsEventSource(
    queue,
    fn,
    {
      batchSize: 10,
      maxBatchingWindowMs: 0,
      maxConcurrency: 5,
      scaleIntervalMs: 20,
      idleScaleDownMs: 10 * SECOND_MS,
      ...settings,
    },
    { log: () => undefined },
  );
  sources.push(source);
  source.start();
  return source;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop(1000)));
});

describe('SqsEventSource', () => {
  describe('invocations in flight', () => {
    it('runs up to maxConcurrency batches at once and never more', async () => {
      // Arrange
      const queue = new FakeQueue();
      const fn = new FakeFunction(60);

      // Act
      start(queue, fn, { maxConcurrency: 3, initialConcurrency: 3 });
      queue.send(100);
      await until(() => queue.deleted.length === 100);

      // Assert
      expect(fn.peak).toBe(3);
      expect(fn.batches.every((b) => b.ids.length <= 10)).toBe(true);
    });

    it("starts with Lambda's five concurrent batches when the maximum allows it", async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(80);

      const source = start(queue, fn, { maxConcurrency: 50, scaleIntervalMs: 60_000 });
      queue.send(50);
      await until(() => queue.deleted.length === 50);

      expect(source.peakConcurrency).toBe(5);
      expect(fn.peak).toBe(5);
    });

    it('keeps the other pollers receiving while one invocation is slow', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(10);
      const slow = new FakeFunction(1000);
      let first = true;
      const source = new SqsEventSource(
        queue,
        {
          invoke: (messages) => {
            if (first) {
              first = false;
              return slow.invoke(messages);
            }
            return fn.invoke(messages);
          },
        },
        { batchSize: 1, maxBatchingWindowMs: 0, maxConcurrency: 2 },
      );
      sources.push(source);
      source.start();

      queue.send(20);
      await until(() => queue.deleted.length === 19, 900);

      // The slow one is still running: everything else went through the other poller.
      expect(slow.batches).toHaveLength(1);
      expect(queue.deleted).not.toContain(slow.batches[0]?.ids[0]);
    });
  });

  describe('scaling', () => {
    it('adds pollers under a backlog, up to maxConcurrency', async () => {
      // Arrange: one poller to begin with, one more per interval while batches come full.
      const queue = new FakeQueue();
      const fn = new FakeFunction(40);

      // Act
      const source = start(queue, fn, {
        initialConcurrency: 1,
        maxConcurrency: 4,
        scaleUpStep: 1,
      });
      queue.send(400);
      await until(() => queue.deleted.length === 400);

      // Assert
      expect(fn.peak).toBe(4);
      expect(source.peakConcurrency).toBe(4);
    });

    it('does not scale up while each receive finds less than a full batch', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5);

      start(queue, fn, { initialConcurrency: 1, maxConcurrency: 4, scaleUpStep: 1 });
      for (let i = 0; i < 20; i++) {
        queue.send(3);
        await sleep(25);
      }
      await until(() => queue.deleted.length === 60);

      expect(fn.peak).toBe(1);
    });

    it('goes back to the initial pollers once the queue is idle', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(40);

      const source = start(queue, fn, {
        initialConcurrency: 1,
        maxConcurrency: 4,
        scaleUpStep: 3,
        idleScaleDownMs: 3 * SECOND_MS,
      });
      queue.send(300);
      await until(() => source.concurrency === 4);
      await until(() => queue.deleted.length === 300);
      await until(() => source.concurrency === 1, 3000);

      // The one poller left still takes new work.
      queue.send(2);
      await until(() => queue.deleted.length === 302);
      expect(source.concurrency).toBe(1);
    });
  });

  describe('batching window', () => {
    it('invokes with what one receive returned when there is no window', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5);

      start(queue, fn, { maxConcurrency: 1 });
      queue.send(3);
      await sleep(100);
      queue.send(4);
      await until(() => queue.deleted.length === 7);

      expect(fn.batches.map((b) => b.ids.length)).toEqual([3, 4]);
    });

    it('gathers messages until the window ends, counted from the first one', async () => {
      // Arrange
      const queue = new FakeQueue();
      const fn = new FakeFunction(5);
      start(queue, fn, { maxConcurrency: 1, maxBatchingWindowMs: 300 });

      // Act
      const sentAt = Date.now();
      queue.send(3);
      await sleep(100);
      queue.send(4);
      await until(() => queue.deleted.length === 7);

      // Assert: one batch of 7, invoked when the window ended, not before.
      expect(fn.batches.map((b) => b.ids.length)).toEqual([7]);
      expect(fn.batches[0]?.at ?? 0).toBeGreaterThanOrEqual(sentAt + 290);
    });

    it('invokes as soon as the batch is full, before the window ends', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5);
      start(queue, fn, { maxConcurrency: 1, batchSize: 25, maxBatchingWindowMs: 5000 });

      const sentAt = Date.now();
      queue.send(30);
      await until(() => fn.batches.length === 1, 2000);

      expect(fn.batches[0]?.ids).toHaveLength(25);
      expect((fn.batches[0]?.at ?? 0) - sentAt).toBeLessThan(1000);
      // Several receives of 10 at most made the batch.
      expect(queue.receives.filter((r) => r.got > 0).map((r) => r.max)).toEqual([10, 10, 5]);
    });

    it('invokes with what it gathered when a later receive of the window fails', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5);
      const receive = queue.receive.bind(queue);
      let calls = 0;
      queue.receive = async (max, waitSeconds, signal) => {
        calls += 1;
        if (calls === 2) throw new Error('connection reset');
        return receive(max, waitSeconds, signal);
      };
      start(queue, fn, { maxConcurrency: 1, maxBatchingWindowMs: 2000 });

      queue.send(3);
      await until(() => fn.batches.length === 1, 1000);

      expect(fn.batches[0]?.ids).toHaveLength(3);
    });

    it('refuses a batch above 10 without a window, as AWS does', () => {
      expect(
        () =>
          new SqsEventSource(new FakeQueue(), new FakeFunction(1), {
            batchSize: 11,
            maxBatchingWindowMs: 0,
            maxConcurrency: 2,
          }),
      ).toThrow('needs a batching window');
    });
  });

  describe('what is deleted', () => {
    it('deletes the records that succeeded and leaves the reported failures', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5, (ids) => ({
        kind: 'returned',
        failedIds: ids.filter((id) => Number(id.slice(1)) % 3 === 0),
      }));

      start(queue, fn);
      const ids = queue.send(30);
      await until(() => fn.batches.flatMap((b) => b.ids).length === 30);
      await until(() => queue.deleted.length === 20);
      await sleep(50);

      expect(queue.deleted.sort()).toEqual(
        ids.filter((id) => Number(id.slice(1)) % 3 !== 0).sort(),
      );
    });

    it('deletes nothing of a batch whose invocation threw, timed out or crashed', async () => {
      const outcomes: InvocationOutcome[] = [
        { kind: 'threw', message: 'boom' },
        { kind: 'lost', reason: 'timed out' },
        { kind: 'returned', failedIds: [] },
      ];
      const queue = new FakeQueue();
      let call = 0;
      const fn = new FakeFunction(5, () => outcomes[call++] ?? { kind: 'returned', failedIds: [] });

      start(queue, fn, { maxConcurrency: 1, batchSize: 2 });
      queue.send(6);
      await until(() => fn.batches.length === 3);
      await sleep(50);

      expect(queue.deleted).toEqual(fn.batches[2]?.ids);
      expect(queue.deleted).toHaveLength(2);
    });

    it('deletes nothing of a batch whose reported failure names no message of it, as Lambda', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(5, () => ({ kind: 'returned', failedIds: ['not-in-batch'] }));

      start(queue, fn, { maxConcurrency: 1 });
      queue.send(3);
      await until(() => fn.batches.length === 1);
      await sleep(50);

      expect(queue.deleted).toEqual([]);
    });
  });

  describe('stop()', () => {
    it('aborts the long poll and waits for the invocation in flight', async () => {
      const queue = new FakeQueue();
      const fn = new FakeFunction(200);
      const source = start(queue, fn, { maxConcurrency: 2, longPollSeconds: 100 });
      queue.send(1);
      await until(() => fn.batches.length === 1);

      const stopping = Date.now();
      await source.stop(2000);

      expect(queue.deleted).toHaveLength(1);
      expect(Date.now() - stopping).toBeLessThan(1000);
    });

    it('waits for the delete of an invocation that ends after stop() was called', async () => {
      const queue = new FakeQueue();
      queue.deleteMs = 300;
      const fn = new FakeFunction(200);
      const source = start(queue, fn, { maxConcurrency: 1 });
      queue.send(1);
      await until(() => fn.batches.length === 1);

      await source.stop(2000);

      expect(queue.deleted).toHaveLength(1);
    });
  });
});
