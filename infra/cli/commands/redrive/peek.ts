import type { Context } from '../../context';
import { type DlqMessageView, describeMessage } from './describe';
import { receive, release } from './queue';

/**
 * `lcm redrive --dry-run`: looks at up to `max` DLQ messages and puts them back untouched. Each is
 * held (invisible to others) only while it is looked at, and made visible again at once after,
 * even when a step fails, so the queue is as it was.
 */
export async function peekDeadLetters(
  ctx: Context,
  deadLetterQueueUrl: string,
  max: number,
): Promise<DlqMessageView[]> {
  const held = new Map<string, string>();
  const seen: DlqMessageView[] = [];
  try {
    while (held.size < max) {
      const batch = await receive(ctx, deadLetterQueueUrl, max - held.size);
      const fresh = batch.filter((m) => m.MessageId && !held.has(m.MessageId));
      // Nothing new: the queue is empty, or what we hold is all there is.
      if (fresh.length === 0) break;
      for (const message of fresh) {
        held.set(message.MessageId as string, message.ReceiptHandle as string);
        seen.push(describeMessage(message));
      }
      ctx.progress(`looked at ${held.size} message${held.size === 1 ? '' : 's'}`);
    }
  } finally {
    await release(ctx, deadLetterQueueUrl, [...held.values()]);
  }
  return seen;
}
