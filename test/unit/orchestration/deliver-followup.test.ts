import { deliverFollowup } from '../../../shared/login-connect/deliver-followup';
import { PAGE_ID } from '../../helpers/factories';
import { graphError, harness, T0 } from './harness';

const HOUR_MS = 3_600_000;

/** A follow-up to a PSID that wrote to the Page an hour ago (a RESPONSE is allowed). */
async function setUp(overrides: Parameters<typeof harness>[0] = {}) {
  const h = harness(overrides);
  h.people.states.set('psid-1', {
    psid: 'psid-1',
    profile: { pageId: PAGE_ID, lastUserMessageAtMs: T0 - HOUR_MS },
  });
  await h.messages.create(
    {
      id: 'msg-1',
      to: { psid: 'psid-1' },
      pageId: PAGE_ID,
      messagingType: 'RESPONSE',
      message: { text: 'Your order shipped' },
    },
    T0,
  );
  return h;
}
const job = { v: 1 as const, kind: 'followup' as const, id: 'msg-1' };

describe('deliverFollowup() on in-memory stores', () => {
  it('sends once: a second delivery of the job finds it sent', async () => {
    // Prepare
    const h = await setUp();

    // Act
    const first = await deliverFollowup(job, h.deps);
    const second = await deliverFollowup(job, h.deps);

    // Assess
    expect(first).toMatchObject({ result: 'sent', record: 'recorded' });
    expect(second).toEqual({ result: 'skipped', reason: 'already sent' });
    expect(h.graph.calls).toHaveLength(1);
    expect(h.graph.calls[0]?.body).toMatchObject({
      recipient: { id: 'psid-1' },
      messaging_type: 'RESPONSE',
    });
    expect(await h.messages.get('msg-1')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('gives the claim back after a transient failure, with the error and the next attempt', async () => {
    // Prepare
    const h = await setUp();
    h.graph.answer(graphError(1, { httpStatus: 500 }));

    // Act
    const result = await deliverFollowup(job, h.deps);
    const early = await deliverFollowup(job, h.deps);

    // Assess
    expect(result).toMatchObject({ result: 'retry', reason: 'transient_send_error' });
    expect(early).toMatchObject({ result: 'retry', reason: 'busy' });
    const stored = h.messages.messages.get('msg-1');
    expect(stored).toMatchObject({ status: 'queued', attempts: 1 });
    // The queue message comes back when the next attempt is due.
    const delaySeconds = result.result === 'retry' ? result.delaySeconds : Number.NaN;
    expect(Math.ceil(((stored?.nextAttemptAtMs as number) - T0) / 1000)).toBe(delaySeconds);
    expect(stored?.errors).toEqual([expect.objectContaining({ kind: 'transient', attempt: 1 })]);
    expect(h.graph.calls).toHaveLength(1);
  });

  it('after a 551 ends the message as opted_out and suppresses the recipient', async () => {
    // Prepare
    const h = await setUp();
    h.graph.answer(graphError(551));

    // Act
    const result = await deliverFollowup(job, h.deps);

    // Assess
    expect(result).toMatchObject({
      result: 'ended',
      status: 'opted_out',
      reason: 'send_api_not_receiving',
    });
    expect(h.people.suppressions.get('PSID#psid-1')).toMatchObject({
      source: 'send_api',
      reason: 'send_api_not_receiving',
      code: 551,
    });
  });

  it('a window closed by Facebook fails the follow-up (not expired), and suppresses nobody', async () => {
    // Prepare
    const h = await setUp();
    h.graph.answer(graphError(10, { subcode: 2018278 }));

    // Act
    const result = await deliverFollowup(job, h.deps);

    // Assess
    expect(result).toMatchObject({
      result: 'ended',
      status: 'failed',
      reason: 'send_api_window_closed',
    });
    expect(h.people.suppressions.size).toBe(0);
  });

  it('waits for a paused Page without spending an attempt', async () => {
    // Prepare: the Page is paused for another 10 minutes.
    const h = await setUp();
    h.pageStates.states.set(PAGE_ID, {
      pageId: PAGE_ID,
      pausedReason: 'page_restricted',
      pausedSince: T0 - 60_000,
      pausedUntil: T0 + 600_000,
      pauseCount: 1,
    });

    // Act
    const result = await deliverFollowup(job, h.deps);

    // Assess
    expect(result).toMatchObject({ result: 'retry', pagePaused: 'page_restricted' });
    expect(h.graph.calls).toHaveLength(0);
    expect(h.messages.messages.get('msg-1')).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('with `hold`, ends a follow-up whose sender died mid-attempt as unknown', async () => {
    // Prepare: an attempt claimed it and never came back.
    const h = await setUp({ unknownOutcome: 'hold' });
    await h.messages.claim('msg-1', T0, 35_000);
    h.clock.now = T0 + 35_000 + 30_001;

    // Act
    const result = await deliverFollowup(job, h.deps);

    // Assess
    expect(result).toMatchObject({
      result: 'ended',
      status: 'unknown',
      unknownOutcome: 'lease_expired',
    });
    expect(h.graph.calls).toHaveLength(0);
  });
});
