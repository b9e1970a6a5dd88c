import type { SQSRecord } from 'aws-lambda';
import {
  type EraseJob,
  type EventJob,
  type OptinJob,
  type QueueJob,
  QueueJobSchema,
  type RejectedOptinJob,
  type SentJob,
} from '../messages';
import type { Log, MetricsRecorder } from '../observability';
import type { MessageStore } from '../store/message-store';
import type { AttemptError, OptinStore } from '../store/optin-store';
import type { PersonStore } from '../store/person-store';
import type { PersonId } from '../store/table-definition';
import { suppressNotReceiving } from './after-failure';
import type { RetryResult, UnknownOutcome } from './after-send';
import { type DeliverDeps, type DeliverResult, deliverFirstMessage } from './deliver';
import { deliverFollowup, type FollowupDeps, type FollowupResult } from './deliver-followup';
import { handleEvent, priorLoginId } from './handle-event';
import { type PageEvent, wakePage } from './page-health';
import { REASON } from './reasons';
import { recordRejectedOptin } from './record-rejected-optin';
import { type RecordResult, SendNotRecordedError } from './record-send';
import { isRateLimit } from './send-errors';
import { tombstoneId } from './tombstone';

export interface ProcessDeps extends DeliverDeps, FollowupDeps {
  store: OptinStore;
  people: PersonStore;
  messages: MessageStore;
  /** Hides the message for `seconds` so SQS redelivers it then. */
  defer(receiptHandle: string, seconds: number): Promise<void>;
  log: Log;
  metrics: MetricsRecorder;
  /** A log-safe tag for a login_id. */
  tag(loginId: string): string;
  /** Puts opt-in jobs on the queue (a resumed Page's waiting opt-ins). */
  enqueue?(jobs: OptinJob[]): Promise<unknown>;
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
    if (await deletedSinceReceived(job.value, deps)) {
      deps.metrics.count('EventsDropped', 1, { reason: 'person_deleted' });
      return;
    }
    await recordRejectedOptin(job.value, deps, { sqsMessageId: record.messageId });
    return;
  }
  if (job.value.kind === 'erase') {
    await eraseAgain(job.value, deps);
    return;
  }
  if (job.value.kind === 'sent') {
    await recordHandedOver(job.value, record, deps);
    return;
  }
  const jobContext = { receiveCount: receiveCountOf(record) };
  if (job.value.kind === 'followup') {
    const result = await loudly(deliverFollowup(job.value, deps, jobContext), deps);
    const context = { sqsMessageId: record.messageId, trackingId: job.value.id };
    reportFollowup(result, context, deps);
    if (result.result !== 'skipped') await reportPage(result.page, context, deps);
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
  const result = await loudly(deliverFirstMessage(job.value, deps, jobContext), deps);
  report(result, context, deps);
  if (result.result !== 'skipped') await reportPage(result.page, context, deps);
  if (result.result === 'ended' && result.status === 'opted_out' && result.failure) {
    // Facebook says the person is not receiving: suppress every identifier linked to them too.
    await suppressNotReceiving(
      deps.people,
      { kind: 'login', id: job.value.loginId },
      result.reason,
      result.failure,
      deps.now(),
    );
  }
  if (result.result === 'retry') {
    await deps.defer(record.receiptHandle, result.delaySeconds);
    throw new RetryLaterError(`retry in ${result.delaySeconds}s: ${result.reason}`);
  }
}

/** SQS's count of deliveries of this message, this one included (1 when it does not say). */
function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

/**
 * What an attempt changed about its Page: a pause is logged loudly (restricted and token invalid
 * at error level, for the operator), a resumption wakes the opt-ins that waited for the Page.
 */
async function reportPage(
  page: PageEvent | undefined,
  context: Record<string, unknown>,
  deps: ProcessDeps,
): Promise<void> {
  if (page === undefined) return;
  if (page.writeError !== undefined)
    deps.log.warn("the Page's state could not be written; its probe will come again", {
      ...context,
      pageEvent: page.event,
      error: page.writeError,
    });
  switch (page.event) {
    case 'paused': {
      deps.metrics.count('PagePaused', 1, { reason: page.reason });
      const facts = {
        ...context,
        pageId: page.pageId,
        reason: page.reason,
        until: new Date(page.untilMs).toISOString(),
        pauseCount: page.pauseCount,
        recorded: page.recorded,
      };
      if (page.reason === 'token_invalid')
        deps.log.error(
          'PAGE TOKEN INVALID: the Page is paused until a new token is in the secret (pages.<PAGE_ID>.accessToken); its opt-ins wait',
          facts,
        );
      else if (page.reason === 'page_restricted')
        deps.log.error(
          'PAGE RESTRICTED: Meta restricts this Page from sending (10/1893063); its sends are paused and retried after a back-off',
          facts,
        );
      else deps.log.warn('Page rate-limited: its sends back off', facts);
      return;
    }
    case 'probe_released':
      deps.log.info('the probe of a paused Page learnt nothing; another job will probe', {
        ...context,
        reason: page.reason,
      });
      return;
    case 'resumed': {
      deps.metrics.count('PageResumed', 1, { reason: page.reason });
      let woken = 0;
      if (deps.enqueue) {
        try {
          woken = await wakePage(page.pageId, {
            store: deps.store,
            enqueue: (jobs) => (deps.enqueue as NonNullable<ProcessDeps['enqueue']>)(jobs),
            now: deps.now,
          });
        } catch (error) {
          // Each waiting opt-in still comes back on its own deferral.
          deps.log.warn("the resumed Page's waiting opt-ins could not be queued at once", {
            ...context,
            error,
          });
        }
      }
      deps.log.warn('Page resumed: sends go through it again', {
        ...context,
        pageId: page.pageId,
        reason: page.reason,
        ...(page.pausedSince !== undefined
          ? { pausedSince: new Date(page.pausedSince).toISOString() }
          : {}),
        optinsWoken: woken,
      });
      return;
    }
  }
}

/** The one failure an operator must hear of at once: a message went out and nothing recorded it. */
async function loudly<T>(work: Promise<T>, deps: ProcessDeps): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof SendNotRecordedError) {
      deps.metrics.count('SendNotRecorded');
      deps.log.error('SENT BUT NOT RECORDED: neither DynamoDB nor SQS took the record', {
        target: error.job.target,
        ...(error.job.target === 'optin'
          ? { loginIdTag: deps.tag(error.job.id) }
          : { trackingId: error.job.id }),
        pageId: error.job.pageId,
        messageId: error.job.messageId,
        sentAt: new Date(error.job.sentAt).toISOString(),
        error: error.cause,
      });
    }
    throw error;
  }
}

/** Seconds before a hand-over whose record failed again is tried again. */
const HANDOVER_RETRY_SECONDS = 2;

/**
 * Records a send its sender handed over (see `recordOrHandOver`). Never sends, never creates a
 * record: a record deleted meanwhile stays deleted. A failed write comes back in a moment.
 */
async function recordHandedOver(job: SentJob, record: SQSRecord, deps: ProcessDeps) {
  const facts = {
    pageId: job.pageId,
    owner: job.owner,
    sentAtMs: job.sentAt,
    ...(job.messageId !== undefined ? { messageId: job.messageId } : {}),
    ...(job.recipientId !== undefined ? { recipientId: job.recipientId } : {}),
  };
  const context = {
    sqsMessageId: record.messageId,
    target: job.target,
    ...(job.target === 'optin' ? { loginIdTag: deps.tag(job.id) } : { trackingId: job.id }),
    messageId: job.messageId,
  };
  let outcome: Awaited<ReturnType<ProcessDeps['store']['recordHandedOver']>>;
  try {
    outcome =
      job.target === 'optin'
        ? await deps.store.recordHandedOver(
            {
              ...facts,
              loginId: job.id,
              ...(job.optinAt !== undefined ? { optinAtMs: job.optinAt } : {}),
            },
            deps.now(),
          )
        : await deps.messages.recordHandedOver({ ...facts, id: job.id }, deps.now());
  } catch (error) {
    deps.log.warn('a handed-over send could not be recorded yet', { ...context, error });
    await deps.defer(record.receiptHandle, HANDOVER_RETRY_SECONDS);
    throw new RetryLaterError(`retry in ${HANDOVER_RETRY_SECONDS}s: record not written`);
  }
  deps.metrics.count('HandedOverSendRecorded');
  if (outcome === 'already_sent') {
    deps.metrics.count('DuplicateSendDetected');
    deps.log.error('a second message went out: another attempt recorded a send first', context);
  } else if (outcome === 'gone') {
    deps.log.warn(
      'a handed-over send names a record that no longer exists: not re-created',
      context,
    );
  } else {
    deps.log.info('handed-over send recorded', context);
  }
}

/** Logs and counts how a send that Graph accepted was recorded. */
function reportRecord(
  result: { record: RecordResult; recordTries: number },
  context: Record<string, unknown>,
  deps: ProcessDeps,
): void {
  if (result.recordTries > 1)
    deps.log.warn('recording the send needed more than one try', {
      ...context,
      tries: result.recordTries,
      record: result.record,
    });
  switch (result.record) {
    case 'already_sent':
      deps.metrics.count('DuplicateSendDetected');
      deps.log.error('a second message went out: another attempt recorded a send first', context);
      return;
    case 'handed_over':
      deps.metrics.count('SendHandedOver');
      deps.log.warn(
        'the send could not be recorded in time: handed over through the queue',
        context,
      );
      return;
    case 'gone':
      deps.log.warn('sent, but the record was deleted meanwhile: not re-created', context);
      return;
    case 'recorded':
      return;
  }
}

/** An attempt whose outcome was unknown: counted for its alarm, whatever the setting made of it. */
function reportUnknown(
  result: { unknownOutcome?: UnknownOutcome },
  context: Record<string, unknown>,
  deps: ProcessDeps,
): void {
  if (result.unknownOutcome === undefined) return;
  deps.metrics.count('SendOutcomeUnknown');
  deps.log.warn('an attempt whose outcome is unknown (a second message is possible)', {
    ...context,
    why: result.unknownOutcome,
  });
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

/**
 * Whether the person an event names was deleted after the event happened: such an event is work
 * that predates the deletion, and acting on it (or keeping it) would bring their data back.
 */
async function deletedSince(job: EventJob, deps: ProcessDeps): Promise<boolean> {
  const ids: PersonId[] = [];
  if (job.psid) ids.push({ kind: 'psid', id: job.psid });
  const prior =
    typeof job.payload === 'object' && job.payload !== null && !Array.isArray(job.payload)
      ? priorLoginId(job.payload as Record<string, unknown>)
      : undefined;
  if (prior) ids.push({ kind: 'login', id: prior });
  if (ids.length === 0) return false;
  const secrets = await deps.secrets();
  const deletedAt = await deps.people.deletedAt(ids.map((id) => tombstoneId(id, secrets)));
  return deletedAt !== undefined && deletedAt >= (job.timestamp ?? job.receivedAt);
}

/**
 * A deletion's second pass: whatever an attempt in flight wrote after the first pass is removed,
 * and anything new it names is tombstoned too.
 */
async function eraseAgain(job: EraseJob, deps: ProcessDeps): Promise<void> {
  const secrets = await deps.secrets();
  const erased = await deps.people.erase(job.ids);
  const known = new Set(job.ids.map((id) => `${id.kind}:${id.id}`));
  const found = erased.ids.filter((id) => !known.has(`${id.kind}:${id.id}`));
  if (found.length > 0)
    await deps.people.bury(
      found.map((id) => tombstoneId(id, secrets)),
      deps.now(),
    );
  await deps.people.addToDeletion(job.code, erased.deleted, deps.now());
  deps.log.info('data deletion: second pass done', { code: job.code, deleted: erased.deleted });
}

/** Whether a rejected opt-in names (whole) a `login_id` deleted after it was received. */
async function deletedSinceReceived(job: RejectedOptinJob, deps: ProcessDeps): Promise<boolean> {
  if (job.loginId === undefined || job.loginIdLength !== undefined) return false;
  const deletedAt = await deps.people.deletedAt([
    tombstoneId({ kind: 'login', id: job.loginId }, await deps.secrets()),
  ]);
  return deletedAt !== undefined && deletedAt >= job.receivedAt;
}

async function recordEvent(job: EventJob, deps: ProcessDeps): Promise<void> {
  if (await deletedSince(job, deps)) {
    deps.metrics.count('EventsDropped', 1, { reason: 'person_deleted' });
    deps.log.info('event about a deleted person dropped', { eventType: job.eventType });
    return;
  }
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
  unknown: 'OptinOutcomeUnknown',
} as const;

function report(result: DeliverResult, context: Record<string, unknown>, deps: ProcessDeps): void {
  const failure = 'failure' in result && result.failure ? result.failure : undefined;
  if (failure) countSendError(failure, deps);
  if (result.result !== 'skipped') reportUnknown(result, context, deps);
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
      reportRecord(result, { ...context, messageId: result.messageId }, deps);
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
      } else if (result.reason === REASON.pageNotConfigured) {
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
      reportRetry(result, { ...context, error }, deps, {
        waits: 'waits for its paused Page (no attempt)',
        retries: 'will try again',
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
  if (result.result !== 'skipped') reportUnknown(result, context, deps);
  switch (result.result) {
    case 'sent':
      deps.metrics.count('FollowupSent');
      deps.log.info('follow-up sent', { ...context, messageId: result.messageId });
      reportRecord(result, { ...context, messageId: result.messageId }, deps);
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
      reportRetry(result, context, deps, {
        waits: 'follow-up waits for its paused Page (no attempt)',
        retries: 'follow-up will be tried again',
      });
      return;
  }
}

/** A job put back in the queue: waiting for its paused Page (no attempt), or a retry planned. */
function reportRetry(
  result: RetryResult,
  context: Record<string, unknown>,
  deps: ProcessDeps,
  says: { waits: string; retries: string },
): void {
  const paused = result.pagePaused !== undefined;
  deps.metrics.count(paused ? 'SendDeferredPagePaused' : 'SendRetryScheduled');
  const { error, ...rest } = context;
  deps.log.info(paused ? says.waits : says.retries, {
    ...rest,
    delaySeconds: result.delaySeconds,
    reason: result.reason,
    // A wait made no attempt, so there is no error to tell.
    ...(paused || error === undefined ? {} : { error }),
  });
}

/**
 * A failed Send API call, counted twice: in total (the alarm's error rate; alarms cannot SEARCH
 * across dimensions) and by code (the dashboard's breakdown). An invalid Page token and a
 * restricted Page are also counted on their own, for their alarms, and rate limits for the graph.
 */
function countSendError(failure: AttemptError, deps: ProcessDeps): void {
  if (failure.kind === 'token_invalid') deps.metrics.count('PageTokenInvalid');
  if (failure.kind === 'page_restricted') deps.metrics.count('PageRestricted');
  if (isRateLimit(failure)) deps.metrics.count('PageRateLimited');
  deps.metrics.count('SendError');
  deps.metrics.count('SendError', 1, {
    code: String(failure.code ?? failure.network ?? failure.httpStatus ?? 'unknown'),
  });
}
