import type { Message } from '@aws-sdk/client-sqs';
import { retentionFromEnv } from '../../../../shared/config';
import { tombstoneId } from '../../../../shared/login-connect/tombstone';
import { DynamoDbPersonStore } from '../../../../shared/store/dynamodb-person-store';
import type { Context } from '../../context';
import { readTargetSecrets, withAws } from '../../target';
import { type DlqMessageView, describeMessage, personOfJob } from './describe';
import { type Queues, receive, remove, sendCopies } from './queue';

export interface MoveResult {
  /** Messages moved to the send queue. */
  count: number;
  /** Messages whose send to the queue failed: left in the DLQ, visible again after the hold. */
  failed: number;
  /** Messages about a person deleted after the job was made: deleted from the DLQ, not moved. */
  skipped: number;
  /** Why deleted people could not be told apart (no secret, no table): then nothing is skipped. */
  note?: string;
  messages: DlqMessageView[];
  failures: Array<{ messageId: string; code?: string; message?: string }>;
}

const plural = (n: number) => `${n} message${n === 1 ? '' : 's'}`;

/**
 * Moves up to `max` DLQ messages back to the send queue, a batch at a time. A batch is sent to
 * the queue first; only the messages SQS accepted are then deleted from the DLQ, so nothing is
 * lost if either step fails (at worst a message is queued twice, which the sender absorbs: it
 * skips what already ended). Messages about people deleted since are deleted, not moved.
 */
export async function moveDeadLetters(
  ctx: Context,
  queues: Queues,
  max: number,
): Promise<MoveResult> {
  const { deadLetterQueueUrl } = queues;
  const result: MoveResult = { count: 0, failed: 0, skipped: 0, messages: [], failures: [] };
  const deletedPeople = await deletionCheck(ctx);
  if ('note' in deletedPeople) result.note = deletedPeople.note;
  const handled = () => result.count + result.failed + result.skipped;
  while (handled() < max) {
    const received = await receive(ctx, deadLetterQueueUrl, max - handled());
    if (received.length === 0) break;
    const dropped = 'check' in deletedPeople ? await deletedPeople.check(received) : new Set();
    if (dropped.size > 0) {
      await remove(
        ctx,
        deadLetterQueueUrl,
        received.filter((message) => dropped.has(message)),
      );
      result.skipped += dropped.size;
    }
    const batch = received.filter((message) => !dropped.has(message));
    if (batch.length > 0) await moveBatch(ctx, queues, batch, result);
    ctx.progress(
      `moved ${plural(result.count)}${result.failed > 0 ? `, ${result.failed} could not be sent` : ''}${result.skipped > 0 ? `, skipped ${result.skipped} about deleted people` : ''}`,
    );
  }
  return result;
}

async function moveBatch(
  ctx: Context,
  { queueUrl, deadLetterQueueUrl }: Queues,
  batch: Message[],
  result: MoveResult,
): Promise<void> {
  const sent = await sendCopies(ctx, queueUrl, batch);
  const accepted = new Set((sent.Successful ?? []).map((entry) => entry.Id));
  for (const failure of sent.Failed ?? [])
    result.failures.push({
      messageId: batch[Number(failure.Id)]?.MessageId ?? '',
      ...(failure.Code ? { code: failure.Code } : {}),
      ...(failure.Message ? { message: failure.Message } : {}),
    });
  const moved = batch.filter((_, i) => accepted.has(String(i)));
  if (moved.length > 0) {
    const deleted = await remove(ctx, deadLetterQueueUrl, moved);
    // A message queued but not deleted comes back to the DLQ's view later; the sender would
    // skip its second copy, so it is only reported.
    for (const failure of deleted.Failed ?? [])
      result.failures.push({
        messageId: moved[Number(failure.Id)]?.MessageId ?? '',
        code: `not deleted from the DLQ: ${failure.Code ?? 'error'}`,
        ...(failure.Message ? { message: failure.Message } : {}),
      });
  }
  result.messages.push(...moved.map(describeMessage));
  result.count += moved.length;
  result.failed += batch.length - moved.length;
}

/**
 * Tells which DLQ messages are about a person deleted after the job was made, from the target's
 * secret (tombstones are keyed with it) and table.
 */
async function deletionCheck(
  ctx: Context,
): Promise<{ check: (batch: Message[]) => Promise<Set<Message>> } | { note: string }> {
  const tableName = ctx.target.tableName;
  if (!tableName) return { note: 'no table: messages about deleted people were not told apart' };
  const read = await withAws(
    { actions: ['secretsmanager:GetSecretValue'], resource: 'the secret', target: ctx.target },
    () => readTargetSecrets(ctx.target),
  );
  if ('missing' in read)
    return { note: `${read.missing}: messages about deleted people were not told apart` };
  const people = new DynamoDbPersonStore(ctx.doc(), tableName, retentionFromEnv({}));
  return {
    check: async (batch) => {
      const dropped = new Set<Message>();
      for (const message of batch) {
        const named = personOfJob(message.Body);
        if (!named) continue;
        const deletedAt = await withAws(
          {
            actions: ['dynamodb:BatchGetItem'],
            resource: `table ${tableName}`,
            target: ctx.target,
          },
          () => people.deletedAt([tombstoneId(named.person, read.secrets)]),
        );
        if (deletedAt !== undefined && deletedAt >= named.atMs) dropped.add(message);
      }
      return dropped;
    },
  };
}
