import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { retentionFromEnv } from '../../../shared/config';
import { tombstoneId } from '../../../shared/login-connect/tombstone';
import { QueueJobSchema } from '../../../shared/messages';
import { DynamoDbPersonStore } from '../../../shared/store/dynamodb-person-store';
import type { PersonId } from '../../../shared/store/table-definition';
import { type Context, type Outcome, shortId } from '../context';
import { formatTable } from '../table';
import { readTargetSecrets, requireQueues, withAws } from '../target';
import { relativeTime } from '../time';

/**
 * How long received DLQ messages stay hidden while they are being moved (or looked at): long
 * enough for a send and a delete, short enough that one left behind by a failure soon shows again.
 */
const HOLD_SECONDS = 120;
/** A short long-poll: it asks every SQS server, so an empty answer means the queue is empty. */
const WAIT_SECONDS = 1;
const SQS_BATCH = 10;

export type JobKind = 'optin' | 'event' | 'followup' | 'unreadable' | 'rejected_optin';
const KIND_LABEL: Record<JobKind, string> = {
  optin: 'opt-in',
  event: 'event',
  followup: 'follow-up',
  unreadable: 'unreadable',
  rejected_optin: 'rejected opt-in',
};

/** What a DLQ message is, without its content (an event's payload may hold what a person wrote). */
export interface DlqMessageView {
  messageId: string;
  kind: JobKind;
  enqueuedAt?: string;
  receiveCount?: number;
  loginId?: string;
  pageId?: string;
  eventType?: string;
  followupId?: string;
}

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

/** Reads a queue message's kind and its identifiers from the job it carries. */
export function describeMessage(message: Message): DlqMessageView {
  const view: DlqMessageView = {
    messageId: message.MessageId ?? '',
    kind: 'unreadable',
  };
  const sent = Number(message.Attributes?.SentTimestamp);
  if (Number.isFinite(sent) && sent > 0) view.enqueuedAt = new Date(sent).toISOString();
  const receives = Number(message.Attributes?.ApproximateReceiveCount);
  if (Number.isFinite(receives) && receives > 0) view.receiveCount = receives;
  let job: Record<string, unknown>;
  try {
    job = JSON.parse(message.Body ?? '');
  } catch {
    return view;
  }
  if (typeof job !== 'object' || job === null) return view;
  const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  if (
    job.kind === 'optin' ||
    job.kind === 'event' ||
    job.kind === 'followup' ||
    job.kind === 'rejected_optin'
  )
    view.kind = job.kind;
  const fields = {
    loginId: str(job.loginId),
    pageId: str(job.pageId),
    eventType: str(job.eventType),
    followupId: job.kind === 'followup' ? str(job.id) : undefined,
  };
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined) (view as unknown as Record<string, unknown>)[key] = value;
  return view;
}

const noKinds = (): Record<JobKind, number> => ({
  optin: 0,
  event: 0,
  followup: 0,
  unreadable: 0,
  rejected_optin: 0,
});

async function approximateCount(sqs: SQSClient, queueUrl: string): Promise<number | null> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const visible = Number(Attributes?.ApproximateNumberOfMessages);
  const inFlight = Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
  if (!Number.isFinite(visible)) return null;
  return visible + (Number.isFinite(inFlight) ? inFlight : 0);
}

async function receive(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(SQS_BATCH, max),
      VisibilityTimeout: HOLD_SECONDS,
      WaitTimeSeconds: WAIT_SECONDS,
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

/**
 * `lcm redrive`: moves DLQ messages back to the send queue, a batch at a time. A batch is sent to
 * the queue first; only the messages SQS accepted are then deleted from the DLQ, so nothing is
 * lost if either step fails (at worst a message is queued twice, which the sender absorbs: it
 * skips what already ended). `--dry-run` looks at the messages and puts them back untouched.
 */
export async function redrive(
  ctx: Context,
  args: { dryRun: boolean; max?: number },
): Promise<Outcome<RedriveView>> {
  const { queueUrl, deadLetterQueueUrl } = requireQueues(ctx.target);
  const sqs = ctx.sqs();
  const max = args.max ?? Number.POSITIVE_INFINITY;
  const view: RedriveView = {
    dryRun: args.dryRun,
    deadLetterQueueUrl,
    queueUrl,
    approximateCount: null,
    count: 0,
    failed: 0,
    skipped: 0,
    kinds: noKinds(),
    messages: [],
    failures: [],
  };
  const call = (actions: string[], resource: string) => ({
    actions,
    resource,
    target: ctx.target,
  });
  view.approximateCount = await withAws(
    call(['sqs:GetQueueAttributes'], `queue ${deadLetterQueueUrl}`),
    () => approximateCount(sqs, deadLetterQueueUrl),
  );

  if (args.dryRun) {
    const held = new Map<string, string>();
    try {
      while (held.size < max) {
        const batch = await withAws(
          call(['sqs:ReceiveMessage'], `queue ${deadLetterQueueUrl}`),
          () => receive(sqs, deadLetterQueueUrl, max - held.size),
        );
        const fresh = batch.filter((m) => m.MessageId && !held.has(m.MessageId));
        // Nothing new: the queue is empty, or what we hold is all there is.
        if (fresh.length === 0) break;
        for (const message of fresh) {
          held.set(message.MessageId as string, message.ReceiptHandle as string);
          const described = describeMessage(message);
          view.messages.push(described);
          view.kinds[described.kind] += 1;
        }
        ctx.progress(`looked at ${fresh.length} (${held.size} so far)`);
      }
    } finally {
      // Put back at once what we only looked at, so the queue is as it was.
      const entries = [...held.values()].map((handle, i) => ({
        Id: String(i),
        ReceiptHandle: handle,
        VisibilityTimeout: 0,
      }));
      for (let i = 0; i < entries.length; i += SQS_BATCH) {
        await withAws(call(['sqs:ChangeMessageVisibility'], `queue ${deadLetterQueueUrl}`), () =>
          sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: deadLetterQueueUrl,
              Entries: entries.slice(i, i + SQS_BATCH),
            }),
          ),
        );
      }
    }
    view.count = held.size;
    return { view, render: () => renderRedrive(view, ctx.nowMs) };
  }

  const deletedPeople = await deletionCheck(ctx);
  if ('note' in deletedPeople) view.note = deletedPeople.note;
  while (view.count + view.failed + view.skipped < max) {
    const received = await withAws(
      call(['sqs:ReceiveMessage'], `queue ${deadLetterQueueUrl}`),
      () => receive(sqs, deadLetterQueueUrl, max - view.count - view.failed - view.skipped),
    );
    if (received.length === 0) break;
    const dropped = 'check' in deletedPeople ? await deletedPeople.check(received) : new Set();
    if (dropped.size > 0) {
      const gone = received.filter((message) => dropped.has(message));
      await withAws(call(['sqs:DeleteMessage'], `queue ${deadLetterQueueUrl}`), () =>
        sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: deadLetterQueueUrl,
            Entries: gone.map((message, i) => ({
              Id: String(i),
              ReceiptHandle: message.ReceiptHandle as string,
            })),
          }),
        ),
      );
      view.skipped += gone.length;
      ctx.progress(`skipped ${gone.length} about deleted people (${view.skipped} so far)`);
    }
    const batch = received.filter((message) => !dropped.has(message));
    if (batch.length === 0) continue;
    const entries = batch.map((message, i) => ({
      Id: String(i),
      MessageBody: message.Body ?? '',
      ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
        ? { MessageAttributes: message.MessageAttributes }
        : {}),
    }));
    const sent = await withAws(call(['sqs:SendMessage'], `queue ${queueUrl}`), () =>
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
    );
    const accepted = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    for (const failure of sent.Failed ?? []) {
      const message = batch[Number(failure.Id)];
      view.failures.push({
        messageId: message?.MessageId ?? '',
        ...(failure.Code ? { code: failure.Code } : {}),
        ...(failure.Message ? { message: failure.Message } : {}),
      });
    }
    const moved = batch.filter((_, i) => accepted.has(String(i)));
    if (moved.length > 0) {
      const deleted = await withAws(
        call(['sqs:DeleteMessage'], `queue ${deadLetterQueueUrl}`),
        () =>
          sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: deadLetterQueueUrl,
              Entries: moved.map((message, i) => ({
                Id: String(i),
                ReceiptHandle: message.ReceiptHandle as string,
              })),
            }),
          ),
      );
      // A message queued but not deleted comes back to the DLQ's view later; the sender would
      // skip its second copy, so it is only reported.
      for (const failure of deleted.Failed ?? [])
        view.failures.push({
          messageId: moved[Number(failure.Id)]?.MessageId ?? '',
          code: `not deleted from the DLQ: ${failure.Code ?? 'error'}`,
          ...(failure.Message ? { message: failure.Message } : {}),
        });
    }
    for (const message of moved) {
      const described = describeMessage(message);
      view.messages.push(described);
      view.kinds[described.kind] += 1;
    }
    view.count += moved.length;
    view.failed += batch.length - moved.length;
    ctx.progress(
      `moved ${moved.length} message${moved.length === 1 ? '' : 's'} (${view.count} so far)${batch.length > moved.length ? `; ${batch.length - moved.length} could not be sent and stay in the DLQ` : ''}`,
    );
  }
  return { view, render: () => renderRedrive(view, ctx.nowMs) };
}

/** The person a job names and when the job's fact happened (an opt-in, an event). */
function personOfJob(body: string | undefined): { person: PersonId; atMs: number } | undefined {
  const parsed = QueueJobSchema.safeParse(safeJson(body));
  if (!parsed.success) return undefined;
  const job = parsed.data;
  if (job.kind === 'optin')
    return { person: { kind: 'login', id: job.loginId }, atMs: job.optinAt };
  if (job.kind === 'event' && job.psid)
    return { person: { kind: 'psid', id: job.psid }, atMs: job.timestamp ?? job.receivedAt };
  return undefined;
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
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

/** The human form of `lcm redrive`: what was (or would be) moved, by kind and one by one. */
export function renderRedrive(view: RedriveView, nowMs: number): string {
  const lines: string[] = [];
  const plural = (n: number) => `${n} message${n === 1 ? '' : 's'}`;
  const about =
    view.approximateCount === null ? '' : ` (SQS counts about ${view.approximateCount})`;
  lines.push(`Dead-letter queue  ${view.deadLetterQueueUrl}${about}`);
  lines.push(`Send queue         ${view.queueUrl}`);
  lines.push('');
  if (view.dryRun) {
    lines.push(
      view.count === 0
        ? 'Dry run: the dead-letter queue is empty; nothing to move.'
        : `Dry run: would move ${plural(view.count)}; nothing was moved.`,
    );
  } else {
    lines.push(
      view.count === 0 && view.failed === 0
        ? 'The dead-letter queue is empty; nothing moved.'
        : `Moved ${plural(view.count)} to the send queue${view.failed > 0 ? `; ${plural(view.failed)} could not be sent and stay in the DLQ` : ''}.`,
    );
    if (view.skipped > 0)
      lines.push(
        `Skipped ${plural(view.skipped)} about people deleted since: removed from the DLQ, not moved.`,
      );
    if (view.note) lines.push(`Note: ${view.note}.`);
  }
  if (view.messages.length > 0) {
    lines.push('');
    lines.push(
      formatTable(
        ['kind', 'count'],
        (Object.keys(view.kinds) as JobKind[])
          .filter((kind) => view.kinds[kind] > 0)
          .map((kind) => [KIND_LABEL[kind], String(view.kinds[kind])]),
        { align: [undefined, 'right'] },
      ),
    );
    lines.push('');
    lines.push(
      formatTable(
        ['sqs message id', 'kind', 'details', 'enqueued', 'receives'],
        view.messages.map((m) => [
          m.messageId,
          KIND_LABEL[m.kind],
          [
            m.loginId ? `login_id ${shortId(m.loginId)}` : undefined,
            m.eventType ? `type ${m.eventType}` : undefined,
            m.followupId ? `id ${m.followupId}` : undefined,
            m.pageId ? `Page ${m.pageId}` : undefined,
          ]
            .filter(Boolean)
            .join(', '),
          m.enqueuedAt ? relativeTime(Date.parse(m.enqueuedAt), nowMs) : '',
          m.receiveCount === undefined ? '' : String(m.receiveCount),
        ]),
        { align: [undefined, undefined, undefined, undefined, 'right'] },
      ),
    );
  }
  for (const failure of view.failures)
    lines.push(
      `failed: ${failure.messageId} ${failure.code ?? ''} ${failure.message ?? ''}`.trim(),
    );
  if (view.dryRun && view.count > 0)
    lines.push(
      '',
      'Run without --dry-run to move them. Safe: the sender skips what already ended.',
    );
  return `${lines.join('\n')}\n`;
}
