import { processQueueRecord, RetryLaterError } from '../../../shared/login-connect/process-record';
import type { SentJob } from '../../../shared/messages';
import { optinJob, PAGE_ID } from '../../helpers/factories';
import { graphError, harness, LEASE_MS, recordOf, T0 } from './harness';

/** The orchestration of the sender, on in-memory stores that keep the adapters' conditions. */
describe('processQueueRecord() on in-memory stores', () => {
  const job = (loginId = 'login-1') => optinJob({ loginId, optinAt: T0, receivedAt: T0 });

  it('sends the first message once however often SQS delivers the job', async () => {
    // Prepare
    const h = harness();

    // Act
    await processQueueRecord(recordOf(job()), h.deps);
    await processQueueRecord(recordOf(job(), 2), h.deps);

    // Assess
    expect(h.graph.calls).toHaveLength(1);
    expect(h.graph.calls[0]?.body).toMatchObject({ recipient: { login_id: 'login-1' } });
    expect(h.store.optins.get('login-1')).toMatchObject({ status: 'sent', messageId: 'm_1' });
    expect(h.store.locks.get('login-1')).toBe(PAGE_ID);
    expect(h.counts.FirstMessageSent).toBe(1);
  });

  it('lets one of two concurrent deliveries send; the other is retried after the lease', async () => {
    // Prepare: the second delivery arrives while the first waits on Graph.
    const h = harness();
    let second: Promise<void> | undefined;
    h.graph.during = async () => {
      h.graph.during = undefined;
      second = processQueueRecord(recordOf(job()), h.deps);
      await second.catch(() => {});
    };

    // Act
    await processQueueRecord(recordOf(job()), h.deps);

    // Assess
    await expect(second).rejects.toBeInstanceOf(RetryLaterError);
    expect(h.graph.calls).toHaveLength(1);
    expect(h.deferred).toHaveLength(1);
    expect(h.deferred[0]?.seconds).toBeGreaterThanOrEqual(LEASE_MS / 1000);
    expect(h.store.optins.get('login-1')?.status).toBe('sent');
  });

  it('schedules a transient failure for later, and sends once it is due', async () => {
    // Prepare
    const h = harness();
    h.graph.answer(graphError(2, { httpStatus: 500 }));

    // Act: the first delivery fails and is deferred.
    await expect(processQueueRecord(recordOf(job()), h.deps)).rejects.toBeInstanceOf(
      RetryLaterError,
    );
    const [deferral] = h.deferred;
    const pending = structuredClone(h.store.optins.get('login-1'));

    // Act: SQS delivers it too early (nothing is sent), then when due.
    h.clock.now += 1000;
    await expect(processQueueRecord(recordOf(job(), 2), h.deps)).rejects.toBeInstanceOf(
      RetryLaterError,
    );
    h.clock.now = (pending?.nextAttemptAtMs as number) + 1;
    await processQueueRecord(recordOf(job(), 3), h.deps);

    // Assess
    expect(deferral?.seconds).toBe(Math.ceil(((pending?.nextAttemptAtMs as number) - T0) / 1000));
    expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
    expect(pending?.errors).toEqual([expect.objectContaining({ kind: 'transient', attempt: 1 })]);
    expect(h.graph.calls).toHaveLength(2);
    expect(h.store.optins.get('login-1')).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('after a 551 suppresses the person under every linked identifier, and sends nothing more', async () => {
    // Prepare: the login_id is linked to a PSID already.
    const h = harness();
    await h.people.link({ kind: 'login', id: 'login-1' }, { kind: 'psid', id: 'psid-1' }, {}, T0);
    h.graph.answer(graphError(551));

    // Act
    await processQueueRecord(recordOf(job()), h.deps);
    await processQueueRecord(recordOf(job(), 2), h.deps);

    // Assess
    expect(h.store.optins.get('login-1')).toMatchObject({
      status: 'opted_out',
      statusReason: 'send_api_not_receiving',
    });
    expect(h.store.suppressions.get('login-1')).toMatchObject({ source: 'send_api', code: 551 });
    expect([...h.people.suppressions.keys()].sort()).toEqual(['LOGIN#login-1', 'PSID#psid-1']);
    expect(h.people.suppressions.get('PSID#psid-1')).toMatchObject({
      source: 'send_api',
      code: 551,
    });
    expect(h.graph.calls).toHaveLength(1);
  });

  it('pauses a restricted Page: its next opt-in waits, parked, without an attempt', async () => {
    // Prepare
    const h = harness();
    h.graph.answer(graphError(10, { subcode: 1893063 }));

    // Act
    await expect(processQueueRecord(recordOf(job('login-1')), h.deps)).rejects.toBeInstanceOf(
      RetryLaterError,
    );
    h.clock.now += 1000;
    await expect(processQueueRecord(recordOf(job('login-2')), h.deps)).rejects.toBeInstanceOf(
      RetryLaterError,
    );

    // Assess
    expect(h.pageStates.states.get(PAGE_ID)).toMatchObject({ pausedReason: 'page_restricted' });
    expect(h.graph.calls).toHaveLength(1);
    expect(h.store.optins.get('login-2')).toMatchObject({
      status: 'pending',
      attempts: 0,
      waitingFor: 'page_paused:page_restricted',
    });
    expect(h.deferred[1]?.seconds).toBeGreaterThan(0);
    expect(h.counts.PagePaused).toBe(1);
  });

  it('hands over a send the table would not record, records it from the queue, never sends again', async () => {
    // Prepare: DynamoDB refuses every write of the send until the lease runs out.
    const h = harness({ invocationEndsAt: () => T0 + LEASE_MS });
    h.store.failNext('markSent', 1_000);

    // Act
    await processQueueRecord(recordOf(job()), h.deps);
    h.store.failNext('markSent', 0);
    const [handedOver] = h.handedOver;
    await processQueueRecord(recordOf(handedOver as SentJob), h.deps);
    await processQueueRecord(recordOf(job(), 2), h.deps);

    // Assess
    expect(handedOver).toMatchObject({ kind: 'sent', target: 'optin', id: 'login-1' });
    expect(h.store.optins.get('login-1')).toMatchObject({ status: 'sent', messageId: 'm_1' });
    expect(h.graph.calls).toHaveLength(1);
    expect(h.counts.HandedOverSendRecorded).toBe(1);
  });

  it('with `hold`, ends an attempt whose sender died as unknown instead of sending again', async () => {
    // Prepare: a sender claimed the opt-in and died (no finish, no record).
    const h = harness({ unknownOutcome: 'hold' });
    const optin = { loginId: 'login-1', pageId: PAGE_ID, optinAtMs: T0, receivedAtMs: T0 };
    await h.store.claim({ ...optin, source: 'webhook' }, T0, LEASE_MS);

    // Act: SQS delivers the job again once the lease and its hand-over grace have passed.
    h.clock.now = T0 + LEASE_MS + 30_001;
    await processQueueRecord(recordOf(job(), 2), h.deps);

    // Assess
    expect(h.graph.calls).toHaveLength(0);
    expect(h.store.optins.get('login-1')).toMatchObject({
      status: 'unknown',
      statusReason: 'previous_attempt_outcome_unknown',
    });
  });
});
