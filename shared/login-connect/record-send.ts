import type { SentJob } from '../messages';
import type { RecordOutcome } from '../store/optin-store';

/** How a send that Graph accepted ended up recorded. */
export type RecordResult = RecordOutcome | 'handed_over';

export interface RecordSendDeps {
  now: () => number;
  /** Waits `ms`; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Puts a "record this send" job on the queue. */
  handOver: (job: SentJob) => Promise<void>;
  random?: () => number;
  /** When the invocation must have finished (epoch ms; Lambda's deadline), if there is one. */
  invocationEndsAt?: () => number;
}

/** Graph accepted a message and neither the table nor the queue would take its record. */
export class SendNotRecordedError extends Error {
  override name = 'SendNotRecordedError';
  constructor(
    readonly job: SentJob,
    override readonly cause: unknown,
  ) {
    super(
      `sent but not recorded: message ${job.messageId ?? '(no id)'} to ${job.target} ${job.id}`,
    );
  }
}

/** Stop retrying the record this long before the lease ends, so the hand-over comes first. */
export const RECORD_MARGIN_MS = 2_000;
/** Never retry the record for longer than this, whatever the lease. */
export const RECORD_BUDGET_MS = 10_000;
/** Leave this much of the invocation for the hand-over itself and the batch's answer. */
export const INVOCATION_MARGIN_MS = 1_000;
/** The first try of the record is never cut shorter than this, whatever the deadlines say. */
export const FIRST_TRY_MS = 1_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Records a send that Graph accepted, so that nothing sends it again. Transient failures of the
 * write (conflicts, throttling, 5xx: thrown by `record`) are retried with backoff until shortly
 * before `leaseUntilMs`, while no other attempt may take the opt-in over. If the record still
 * cannot be written, the send is handed over durably as a `sent` job on the queue, whose later
 * processing records it. Throws `SendNotRecordedError` only when the queue refuses too.
 */
export async function recordOrHandOver(
  record: () => Promise<RecordOutcome>,
  job: () => SentJob,
  leaseUntilMs: number,
  deps: RecordSendDeps,
): Promise<{ result: RecordResult; tries: number; lastError?: unknown }> {
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const deadline = Math.min(
    leaseUntilMs - RECORD_MARGIN_MS,
    deps.now() + RECORD_BUDGET_MS,
    (deps.invocationEndsAt?.() ?? Number.POSITIVE_INFINITY) - INVOCATION_MARGIN_MS,
  );
  let lastError: unknown;
  for (let tries = 1; ; tries += 1) {
    try {
      // A write that hangs must not hold the hand-over past the deadline. If it commits later
      // anyway, the hand-over finds this very send recorded (see `RecordOutcome`).
      return {
        result: await beforeDeadline(
          record(),
          Math.max(deadline - deps.now(), tries === 1 ? FIRST_TRY_MS : 0),
        ),
        tries,
        ...(lastError ? { lastError } : {}),
      };
    } catch (error) {
      lastError = error;
    }
    // Equal jitter from 50 ms, doubling, at most 1 s between tries.
    const ceiling = Math.min(1000, 50 * 2 ** (tries - 1));
    const delay = ceiling / 2 + random() * (ceiling / 2);
    if (deps.now() + delay >= deadline) {
      const handover = job();
      try {
        await deps.handOver(handover);
      } catch (error) {
        throw new SendNotRecordedError(handover, error);
      }
      return { result: 'handed_over', tries, lastError };
    }
    await sleep(delay);
  }
}

/** The promise's value, or a rejection once `ms` have passed without one. */
function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the record did not answer before the deadline')),
      Math.max(ms, 0),
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
