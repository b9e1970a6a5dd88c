import type { SQSRecord } from 'aws-lambda';
import { type EventJob, type QueueJob, QueueJobSchema } from '../messages';
import type { MessageStore } from '../store/message-store';
import type { AttemptError, OptinStore } from '../store/optin-store';
import type { PersonStore } from '../store/person-store';
import { type DeliverDeps, type DeliverResult, deliverFirstMessage } from './deliver';
import { deliverFollowup, type FollowupDeps, type FollowupResult } from './deliver-followup';
import { handleEvent } from './handle-event';
import { recordRejectedOptin } from './record-rejected-optin';

/** The parts of the Powertools logger and metrics the sender uses (narrow, so tests can fake them). */
export interface SenderLog {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
export interface SenderMetrics {
  count(name: string, value?: number, dimensions?: Record<string, string>): void;
  milliseconds(name: string, value: number): void;
}

export interface ProcessDeps extends DeliverDeps, FollowupDeps {
  store: OptinStore;
  people: PersonStore;
  messages: MessageStore;
  /** Hides the message for `seconds` so SQS redelivers it then. */
  defer(receiptHandle: string, seconds: number): Promise<void>;
  log: SenderLog;
  metrics: SenderMetrics;
  /** A log-safe tag for a login_id. */
  tag(loginId: string): string;
}

/** Thrown to report a record as failed after its redelivery time was set. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
}

/**
 * Handles one queue record. Returns normally when the record is done (sent, ended, recorded or
 * skipped: SQS may delete it); throws when SQS must deliver it again: `RetryLaterError` after
 * scheduling, anything else (e.g. DynamoDB unavailable) to fall back on the queue's visibility.
 */
export async function processQueueRecord(record: SQSRecord, deps: ProcessDeps): Promise<void> {
  const job = parseJob(record.body);
  if (!job.ok) {
    await deps.store.recordRejected(
      { messageId: record.messageId, body: record.body, reason: job.reason },
      deps.now(),
    );
    deps.log.error('queue message rejected: not a job this version understands', {
      sqsMessageId: record.messageId,
      reason: job.reason,
    });
    deps.metrics.count('RecordsRejected');
    return;
  }
  if (job.value.kind === 'event') {
    await recordEvent(job.value, deps);
    return;
  }
  if (job.value.kind === 'rejected_optin') {
    await recordRejectedOptin(job.value, deps, { sqsMessageId: record.messageId });
    return;
  }
  if (job.value.kind === 'followup') {
    const result = await deliverFollowup(job.value, deps);
    reportFollowup(result, { sqsMessageId: record.messageId, trackingId: job.value.id }, deps);
    if (result.result === 'retry') {
      await deps.defer(record.receiptHandle, result.delaySeconds);
      throw new RetryLaterError(`retry in ${result.delaySeconds}s: ${result.reason}`);
    }
    return;
  }
  const context = {
    sqsMessageId: record.messageId,
    pageId: job.value.pageId,
    loginIdTag: deps.tag(job.value.loginId),
    source: job.value.source,
  };
  const result = await deliverFirstMessage(job.value, deps);
  report(result, context, deps);
  if (result.result === 'ended' && result.status === 'opted_out' && result.failure) {
    // Facebook says the person is not receiving: suppress every identifier linked to them too.
    const { code, subcode } = result.failure;
    await deps.people.suppress(
      { kind: 'login', id: job.value.loginId },
      {
        source: 'send_api',
        reason: result.reason,
        ...(code !== undefined ? { code } : {}),
        ...(subcode !== undefined ? { subcode } : {}),
      },
      deps.now(),
    );
  }
  if (result.result === 'retry') {
    await deps.defer(record.receiptHandle, result.delaySeconds);
    throw new RetryLaterError(`retry in ${result.delaySeconds}s: ${result.reason}`);
  }
}

function parseJob(body: string): { ok: true; value: QueueJob } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = QueueJobSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    };
  }
  return { ok: true, value: parsed.data };
}

async function recordEvent(job: EventJob, deps: ProcessDeps): Promise<void> {
  const now = deps.now();
  const handled = await handleEvent(job, deps.people, now);
  if (handled.outcome === 'unhandled') {
    // Kept as received (for 7 days) so nothing Facebook sends is lost before a version acts on it.
    await deps.store.recordEvent(job, now);
    deps.metrics.count('EventsRecorded', 1, { eventType: job.eventType });
    return;
  }
  deps.metrics.count('EventsHandled', 1, { eventType: job.eventType });
  if (handled.outcome === 'user_message' && handled.linked) deps.metrics.count('PsidLinked');
  if (handled.outcome === 'opted_out') {
    deps.metrics.count('OptOuts');
    deps.log.info('person opted out (STOP)', { pageId: job.pageId, identifiers: handled.ids });
  }
  if (handled.outcome === 'opted_in_again')
    deps.log.info('person opted in again (RESUME)', {
      pageId: job.pageId,
      identifiers: handled.ids,
    });
}

const END_METRIC = {
  expired: 'OptinExpired',
  opted_out: 'OptinOptedOut',
  page_locked: 'OptinPageLocked',
  failed: 'OptinFailed',
} as const;

function report(result: DeliverResult, context: Record<string, unknown>, deps: ProcessDeps): void {
  const failure = 'failure' in result && result.failure ? result.failure : undefined;
  if (failure) countSendError(failure, deps);
  const error = failure && {
    kind: failure.kind,
    code: failure.code,
    subcode: failure.subcode,
    httpStatus: failure.httpStatus,
    attempt: failure.attempt,
    fbtraceId: failure.fbtraceId,
  };
  switch (result.result) {
    case 'sent':
      deps.metrics.count('FirstMessageSent');
      deps.metrics.milliseconds('OptinToSendLatency', result.latencyMs);
      deps.log.info('first message sent', {
        ...context,
        messageId: result.messageId,
        latencyMs: result.latencyMs,
      });
      if (result.duplicateSend) {
        deps.metrics.count('DuplicateSendDetected');
        deps.log.error('a second first message went out: the lease ran out while sending', context);
      }
      return;
    case 'ended':
      deps.metrics.count(END_METRIC[result.status]);
      if (failure?.kind === 'token_invalid') {
        deps.log.error('PAGE TOKEN INVALID: replace pages.<PAGE_ID>.accessToken in the secret', {
          ...context,
          status: result.status,
          reason: result.reason,
          error,
        });
      } else if (result.reason === 'page_not_configured') {
        deps.log.error('no access token for this Page in the secret: the opt-in failed', {
          ...context,
          status: result.status,
          reason: result.reason,
        });
      } else {
        deps.log.warn('opt-in ended without a message', {
          ...context,
          status: result.status,
          reason: result.reason,
          error,
        });
      }
      return;
    case 'skipped':
      deps.metrics.count('DuplicateOptin');
      deps.log.info('opt-in already handled', {
        ...context,
        reason: result.reason,
        status: result.status,
      });
      return;
    case 'retry':
      deps.metrics.count('SendRetryScheduled');
      deps.log.info('will try again', {
        ...context,
        delaySeconds: result.delaySeconds,
        reason: result.reason,
        error,
      });
      return;
  }
}

function reportFollowup(
  result: FollowupResult,
  context: Record<string, unknown>,
  deps: ProcessDeps,
): void {
  const failure = 'failure' in result ? result.failure : undefined;
  if (failure) countSendError(failure, deps);
  switch (result.result) {
    case 'sent':
      deps.metrics.count('FollowupSent');
      deps.log.info('follow-up sent', { ...context, messageId: result.messageId });
      return;
    case 'ended':
      deps.metrics.count('FollowupNotSent');
      deps.log.warn('follow-up not sent', {
        ...context,
        status: result.status,
        reason: result.reason,
        code: failure?.code,
      });
      return;
    case 'skipped':
      deps.log.info('follow-up already handled', { ...context, reason: result.reason });
      return;
    case 'retry':
      deps.metrics.count('SendRetryScheduled');
      deps.log.info('follow-up will be tried again', {
        ...context,
        delaySeconds: result.delaySeconds,
        reason: result.reason,
      });
      return;
  }
}

/**
 * A failed Send API call, counted twice: in total (the alarm's error rate; alarms cannot SEARCH
 * across dimensions) and by code (the dashboard's breakdown). An invalid Page token is also
 * counted on its own, for its alarm.
 */
function countSendError(failure: AttemptError, deps: ProcessDeps): void {
  if (failure.kind === 'token_invalid') deps.metrics.count('PageTokenInvalid');
  deps.metrics.count('SendError');
  deps.metrics.count('SendError', 1, {
    code: String(failure.code ?? failure.network ?? failure.httpStatus ?? 'unknown'),
  });
}
