import type { Message } from '@aws-sdk/client-sqs';
import { type QueueJob, QueueJobSchema } from '../../../../shared/messages';
import type { PersonId } from '../../../../shared/store/table-definition';

/** Every kind of queue job (`shared/messages.ts`), and `unreadable` for a body that is none. */
export type JobKind = QueueJob['kind'] | 'unreadable';

export const JOB_KIND_LABEL: Record<JobKind, string> = {
  optin: 'opt-in',
  event: 'event',
  followup: 'follow-up',
  rejected_optin: 'rejected opt-in',
  sent: 'send to record',
  erase: 'deletion pass',
  unreadable: 'unreadable',
};

export const noKinds = (): Record<JobKind, number> => ({
  optin: 0,
  event: 0,
  followup: 0,
  rejected_optin: 0,
  sent: 0,
  erase: 0,
  unreadable: 0,
});

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
  /** Why an unreadable body is not a job, as the sender would say it (field and rule, no values). */
  problem?: string;
}

/**
 * The job a queue message carries, read with the sender's own schema (`QueueJobSchema`), so the
 * CLI calls unreadable exactly what the sender would refuse.
 */
export function parseJob(body: string | undefined): { job: QueueJob } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body ?? '');
  } catch {
    return { problem: 'body is not JSON' };
  }
  const parsed = QueueJobSchema.safeParse(raw);
  if (parsed.success) return { job: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'not a job'}` };
}

/** Reads a queue message's kind and its identifiers from the job it carries. */
export function describeMessage(message: Message): DlqMessageView {
  const view: DlqMessageView = { messageId: message.MessageId ?? '', kind: 'unreadable' };
  const sent = Number(message.Attributes?.SentTimestamp);
  if (Number.isFinite(sent) && sent > 0) view.enqueuedAt = new Date(sent).toISOString();
  const receives = Number(message.Attributes?.ApproximateReceiveCount);
  if (Number.isFinite(receives) && receives > 0) view.receiveCount = receives;
  const parsed = parseJob(message.Body);
  if ('problem' in parsed) return { ...view, problem: parsed.problem };
  const job = parsed.job;
  view.kind = job.kind;
  switch (job.kind) {
    case 'optin':
      return { ...view, loginId: job.loginId, pageId: job.pageId };
    case 'event':
      return {
        ...view,
        eventType: job.eventType,
        ...(job.pageId ? { pageId: job.pageId } : {}),
      };
    case 'followup':
      return { ...view, followupId: job.id };
    case 'rejected_optin':
      return {
        ...view,
        ...(job.loginId ? { loginId: job.loginId } : {}),
        ...(job.pageId ? { pageId: job.pageId } : {}),
      };
    case 'sent':
      return {
        ...view,
        pageId: job.pageId,
        ...(job.target === 'optin' ? { loginId: job.id } : { followupId: job.id }),
      };
    case 'erase':
      return view;
  }
}

/** The person a job names and when the job's fact happened (an opt-in, an event). */
export function personOfJob(
  body: string | undefined,
): { person: PersonId; atMs: number } | undefined {
  const parsed = parseJob(body);
  if ('problem' in parsed) return undefined;
  const job = parsed.job;
  if (job.kind === 'optin')
    return { person: { kind: 'login', id: job.loginId }, atMs: job.optinAt };
  if (job.kind === 'event' && job.psid)
    return { person: { kind: 'psid', id: job.psid }, atMs: job.timestamp ?? job.receivedAt };
  return undefined;
}
