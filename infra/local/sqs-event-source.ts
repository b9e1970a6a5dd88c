/**
 * Lambda's SQS event source mapping, for the local stack: the part that decides when to receive,
 * how many batches run at once and what is deleted afterwards. The queue and the function are
 * ports (`EventSourceQueue`, `EventSourceFunction`), so the rules can be tested without SQS or
 * worker threads; `poller.ts` plugs in the SQS client and the sender's instances.
 *
 * What it does, as AWS documents the mapping for a standard queue
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html):
 *
 * - Pollers. Each poller gathers a batch, invokes the function with it and waits for the answer,
 *   so the pollers running are the concurrent invocations. It starts with `initialConcurrency`
 *   of them (Lambda: five), never more than `maxConcurrency` (the mapping's `maxConcurrency`).
 * - Scaling. While there is a backlog (a poller filled a whole batch), it adds up to
 *   `scaleUpStep` pollers every `scaleIntervalMs` (Lambda: up to 300 a minute), up to
 *   `maxConcurrency`. A poller above the initial count that found nothing to do for
 *   `idleScaleDownMs` stops, so the count goes back down when the queue is quiet.
 * - Batching window (`MaximumBatchingWindowInSeconds`). With a window of 0 a poller invokes with
 *   what one long-poll receive returned. With a window, a poller that received a first message
 *   keeps receiving until it has `batchSize` messages or the window, counted from that first
 *   message, has passed. Batches larger than 10 (SQS's most per receive) need a window, as in AWS.
 * - Partial batch responses (`ReportBatchItemFailures`). The messages the function reported as
 *   failures stay in the queue and come back after their visibility timeout; the others are
 *   deleted. An invocation that throws fails its whole batch; one that times out or crashes
 *   deletes nothing.
 */

/** A received message, as much of it as the event source needs. */
export interface SourceMessage {
  messageId: string;
  receiptHandle: string;
}

/** The queue: receive (long polling) and delete. */
export interface EventSourceQueue<M extends SourceMessage> {
  /**
   * At most `max` (≤ 10) messages, waiting up to `waitSeconds` (whole seconds, 0 for a short poll)
   * for the first one. An aborted receive rejects.
   */
  receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<M[]>;
  delete(messages: M[]): Promise<void>;
}

/** How an invocation ended. */
export type InvocationOutcome =
  /** The handler returned: these message ids were reported as batch item failures. */
  | { kind: 'returned'; failedIds: string[] }
  /** The handler threw: the whole batch failed. */
  | { kind: 'threw'; message: string }
  /** Timed out or crashed: nothing of the batch is deleted, as in Lambda. */
  | { kind: 'lost'; reason: string };

export interface EventSourceFunction<M extends SourceMessage> {
  invoke(messages: M[]): Promise<InvocationOutcome>;
}

export interface EventSourceSettings {
  /** Messages per invocation at most (the mapping's `batchSize`). */
  batchSize: number;
  /** `MaximumBatchingWindowInSeconds`, in ms; 0 invokes with what one receive returned. */
  maxBatchingWindowMs: number;
  /** Concurrent invocations at most (the mapping's `maxConcurrency`). */
  maxConcurrency: number;
  /** Pollers at the start and when idle. @default min(5, maxConcurrency) */
  initialConcurrency?: number;
  /** Pollers added per interval while there is a backlog. @default 5 (300 a minute) */
  scaleUpStep?: number;
  /** @default 1000 */
  scaleIntervalMs?: number;
  /** A poller above the initial count that received nothing for this long stops. @default 10 s */
  idleScaleDownMs?: number;
  /** Long-poll wait of a receive with nothing gathered yet. @default 1 s (a stop aborts it) */
  longPollSeconds?: number;
}

export interface EventSourceHooks {
  log?: (line: string) => void;
  /** Each invocation's duration (what Lambda would bill). */
  onInvocation?: (ms: number, records: number) => void;
}

/** Lambda starts an SQS event source with five concurrent batches. */
export const LAMBDA_INITIAL_CONCURRENCY = 5;
/** Lambda adds up to 300 concurrent batches a minute under backlog: 5 a second. */
export const LAMBDA_SCALE_UP_PER_SECOND = 5;
/** SQS hands out at most 10 messages per `ReceiveMessage`. */
const SQS_MAX_PER_RECEIVE = 10;

export class SqsEventSource<M extends SourceMessage> {
  private readonly settings: Required<EventSourceSettings>;
  private readonly aborter = new AbortController();
  private readonly pollers = new Set<Promise<void>>();
  private readonly deletes = new Set<Promise<void>>();
  private stopping = false;
  private target: number;
  private backlogSeen = false;
  private scaleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private peakInFlight = 0;

  constructor(
    private readonly queue: EventSourceQueue<M>,
    private readonly fn: EventSourceFunction<M>,
    settings: EventSourceSettings,
    private readonly hooks: EventSourceHooks = {},
  ) {
    const max = Math.max(1, Math.floor(settings.maxConcurrency));
    if (settings.batchSize < 1) throw new Error('batchSize must be at least 1');
    if (settings.batchSize > SQS_MAX_PER_RECEIVE && settings.maxBatchingWindowMs <= 0)
      throw new Error('a batchSize above 10 needs a batching window, as in AWS');
    this.settings = {
      initialConcurrency: Math.min(LAMBDA_INITIAL_CONCURRENCY, max),
      scaleUpStep: LAMBDA_SCALE_UP_PER_SECOND,
      scaleIntervalMs: 1000,
      idleScaleDownMs: 10_000,
      longPollSeconds: 1,
      ...settings,
      maxConcurrency: max,
    };
    this.settings.initialConcurrency = Math.min(Math.max(1, this.settings.initialConcurrency), max);
    this.target = this.settings.initialConcurrency;
  }

  /** Pollers running now (each one is, or is about to be, a concurrent invocation). */
  get concurrency(): number {
    return this.pollers.size;
  }

  /** The most invocations that ran at once so far. */
  get peakConcurrency(): number {
    return this.peakInFlight;
  }

  start(): void {
    this.fillPollers();
    this.scaleTimer = setInterval(() => this.scale(), this.settings.scaleIntervalMs);
    this.scaleTimer.unref();
  }

  /**
   * Stops receiving (a long poll under way is aborted) and waits for the invocations in flight
   * and their deletes, at most `graceMs`.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    clearInterval(this.scaleTimer);
    this.aborter.abort();
    const drained = (async () => {
      await Promise.allSettled([...this.pollers]);
      // A poller whose invocation was running when stop() was called starts its delete after.
      while (this.deletes.size > 0) await Promise.allSettled([...this.deletes]);
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Scale up while a poller filled a whole batch since the last look. */
  private scale(): void {
    if (this.stopping) return;
    if (this.backlogSeen && this.target < this.settings.maxConcurrency) {
      this.target = Math.min(this.settings.maxConcurrency, this.target + this.settings.scaleUpStep);
      this.fillPollers();
    }
    this.backlogSeen = false;
  }

  private fillPollers(): void {
    while (!this.stopping && this.pollers.size < this.target) {
      const poller: Promise<void> = this.poll().finally(() => this.pollers.delete(poller));
      this.pollers.add(poller);
    }
  }

  /** One poller: gather a batch, invoke, delete what succeeded; again, until told to stop. */
  private async poll(): Promise<void> {
    let idleSince = Date.now();
    while (!this.stopping) {
      if (this.pollers.size > this.target) return;
      let batch: M[];
      try {
        batch = await this.gather();
      } catch (error) {
        if (this.stopping) return;
        this.hooks.log?.(`receive failed: ${(error as Error).message}`);
        await sleep(500);
        continue;
      }
      if (batch.length === 0) {
        // Idle: the pollers above the initial count stop, as Lambda scales back.
        if (
          Date.now() - idleSince >= this.settings.idleScaleDownMs &&
          this.target > this.settings.initialConcurrency
        ) {
          this.target -= 1;
          return;
        }
        continue;
      }
      idleSince = Date.now();
      if (batch.length >= this.settings.batchSize) this.backlogSeen = true;
      try {
        await this.run(batch);
      } catch (error) {
        // Nothing of the batch is deleted: it comes back after its visibility timeout.
        this.hooks.log?.(`invocation failed: ${(error as Error).message}`);
      }
    }
  }

  /** Up to `batchSize` messages: one receive, or with a window, receives until it is full or over. */
  private async gather(): Promise<M[]> {
    const { batchSize, maxBatchingWindowMs, longPollSeconds } = this.settings;
    const signal = this.aborter.signal;
    const batch = await this.queue.receive(
      Math.min(batchSize, SQS_MAX_PER_RECEIVE),
      longPollSeconds,
      signal,
    );
    if (batch.length === 0 || maxBatchingWindowMs <= 0) return batch;
    const windowEnds = Date.now() + maxBatchingWindowMs;
    while (batch.length < batchSize && !this.stopping) {
      const leftMs = windowEnds - Date.now();
      if (leftMs <= 0) break;
      // Whole seconds of long polling while they fit in the window, then short polls.
      const wait = Math.min(Math.floor(leftMs / 1000), longPollSeconds);
      let more: M[];
      try {
        more = await this.queue.receive(
          Math.min(batchSize - batch.length, SQS_MAX_PER_RECEIVE),
          wait,
          signal,
        );
      } catch (error) {
        // What was gathered is in flight: invoke with it rather than leave it to its visibility.
        if (!this.stopping) this.hooks.log?.(`receive failed: ${(error as Error).message}`);
        break;
      }
      batch.push(...more);
      if (more.length === 0 && wait === 0) await sleep(Math.min(leftMs, 50));
    }
    return batch;
  }

  private async run(batch: M[]): Promise<void> {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    const started = performance.now();
    let outcome: InvocationOutcome;
    try {
      outcome = await this.fn.invoke(batch);
    } catch (error) {
      outcome = { kind: 'lost', reason: (error as Error).message };
    } finally {
      this.inFlight -= 1;
    }
    this.hooks.onInvocation?.(performance.now() - started, batch.length);
    if (outcome.kind === 'lost') {
      this.hooks.log?.(
        `${outcome.reason}; its ${batch.length} message(s) come back after their visibility timeout`,
      );
      return;
    }
    let failed: Set<string>;
    const ids = new Set(batch.map((m) => m.messageId));
    if (outcome.kind === 'returned' && outcome.failedIds.every((id) => ids.has(id)))
      failed = new Set(outcome.failedIds);
    else if (outcome.kind === 'returned') {
      // As Lambda does: a failure naming no message of the batch fails the whole batch.
      this.hooks.log?.('the sender reported a failure for an unknown message id: nothing deleted');
      failed = ids;
    } else {
      this.hooks.log?.(`sender invocation failed: ${outcome.message}`);
      failed = ids;
    }
    const done = batch.filter((m) => !failed.has(m.messageId));
    if (done.length === 0) return;
    // The poller goes back to the queue at once; the delete finishes on its own.
    const deleting: Promise<void> = this.deleteAll(done).finally(() =>
      this.deletes.delete(deleting),
    );
    this.deletes.add(deleting);
  }

  private async deleteAll(messages: M[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_MAX_PER_RECEIVE) {
      try {
        await this.queue.delete(messages.slice(i, i + SQS_MAX_PER_RECEIVE));
      } catch (error) {
        // The messages come back and the sender skips what already ended, as after a lost delete.
        this.hooks.log?.(`delete failed: ${(error as Error).message}`);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
