/**
 * `lcm redrive`: the dead-letter queue's messages back to the send queue (`move.ts`), or only
 * looked at with `--dry-run` (`peek.ts`). Jobs are read with the sender's schema (`describe.ts`).
 */
import type { Context, Outcome } from '../../context';
import { requireQueues } from '../../target';
import { type DlqMessageView, type JobKind, noKinds } from './describe';
import { moveDeadLetters } from './move';
import { peekDeadLetters } from './peek';
import { approximateCount } from './queue';
import { renderRedrive } from './render';

export { type DlqMessageView, describeMessage, type JobKind } from './describe';
export { renderRedrive } from './render';

export interface RedriveView {
  dryRun: boolean;
  deadLetterQueueUrl: string;
  queueUrl: string;
  /** SQS's approximate count of messages in the DLQ before this run (visible + in flight). */
  approximateCount: number | null;
  /** Dry run: messages looked at. Otherwise: messages moved to the queue. */
  count: number;
  /** Messages whose send to the queue failed: left in the DLQ, visible again after the hold. */
  failed: number;
  /**
   * Messages about a person deleted after the job was made: deleted from the DLQ, not moved (the
   * sender would drop them anyway; keeping them keeps the person's data).
   */
  skipped: number;
  /** Why deleted people could not be told apart (no secret, no table): then nothing is skipped. */
  note?: string;
  kinds: Record<JobKind, number>;
  messages: DlqMessageView[];
  failures: Array<{ messageId: string; code?: string; message?: string }>;
}

function countKinds(messages: DlqMessageView[]): Record<JobKind, number> {
  const kinds = noKinds();
  for (const message of messages) kinds[message.kind] += 1;
  return kinds;
}

/** Moves (or with `dryRun`, only looks at) up to `max` dead-letter messages. */
export async function redrive(
  ctx: Context,
  args: { dryRun: boolean; max?: number },
): Promise<Outcome<RedriveView>> {
  const queues = requireQueues(ctx.target);
  const max = args.max ?? Number.POSITIVE_INFINITY;
  const before = await approximateCount(ctx, queues.deadLetterQueueUrl);
  const base = { dryRun: args.dryRun, ...queues, approximateCount: before };
  let view: RedriveView;
  if (args.dryRun) {
    const messages = await peekDeadLetters(ctx, queues.deadLetterQueueUrl, max);
    view = {
      ...base,
      count: messages.length,
      failed: 0,
      skipped: 0,
      kinds: countKinds(messages),
      messages,
      failures: [],
    };
  } else {
    const moved = await moveDeadLetters(ctx, queues, max);
    view = { ...base, ...moved, kinds: countKinds(moved.messages) };
  }
  return { view, render: () => renderRedrive(view, ctx.nowMs) };
}
