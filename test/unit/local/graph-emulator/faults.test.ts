import type { FaultKind } from '../../../../infra/local/graph-emulator';
import {
  classifySendFailure,
  type FailureKind,
} from '../../../../shared/login-connect/send-errors';
import { OTHER_PAGE_ID, PAGE_TOKEN } from '../../../helpers/factories';
import { proofOf, sleep, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, call, post } = useEmulator();

  describe('faults', () => {
    it.each<[FaultKind, number, FailureKind]>([
      ['server_error', 500, 'transient'],
      ['rate_limit', 400, 'transient'],
      ['unavailable', 400, 'opted_out'],
      ['window_closed', 400, 'window_closed'],
      ['token_invalid', 400, 'token_invalid'],
      ['page_restricted', 400, 'page_restricted'],
      ['page_rate_limit', 400, 'transient'],
    ])('answers the %s preset with HTTP %s, classified as %s', async (kind, status, expected) => {
      // Arrange
      optin();
      t.emulator.addFault({ kind });

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a fault');
      expect(outcome.failure.httpStatus).toBe(status);
      expect(outcome.failure.fbtraceId).toEqual(expect.any(String));
      expect(classifySendFailure(outcome.failure)).toBe(expected);
      expect(t.emulator.messages()).toEqual([]);
      expect(t.emulator.requests().at(-1)).toMatchObject({ outcome: 'fault', status });
    });

    it('applies a fault `times` times, then processes normally', async () => {
      // Arrange
      optin();
      t.emulator.addFault({ kind: 'rate_limit', times: 2 });

      // Act
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await post(update())).status);

      // Assert
      expect(statuses).toEqual([400, 400, 200]);
      expect(t.emulator.state().faults).toEqual([]);
      expect(t.emulator.messages()).toHaveLength(1);
    });

    it('applies a fault only to its loginId and pageId', async () => {
      // Arrange
      optin();
      optin('login-other');
      t.emulator.addFault({ kind: 'server_error', loginId: 'login-other' });
      t.emulator.addFault({ kind: 'server_error', pageId: OTHER_PAGE_ID });

      // Act
      const unaffected = await post(update());
      const targeted = await post(update('login-other'));

      // Assert
      expect(unaffected.status).toBe(200);
      expect(targeted.status).toBe(500);
      expect(t.emulator.state().faults).toMatchObject([{ pageId: OTHER_PAGE_ID, remaining: 1 }]);
    });

    it('answers a custom status and error, or a raw body', async () => {
      // Arrange
      optin();
      t.emulator.addFault({
        status: 503,
        error: { code: 1200, message: 'Temporary send failure' },
      });
      t.emulator.addFault({ status: 502, body: '<html>Bad Gateway</html>' });

      // Act
      const custom = await send(update());
      const raw = await call(`/${VERSION}/me/messages?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        json: { ...update(), access_token: PAGE_TOKEN },
      });

      // Assert
      expect(custom).toMatchObject({
        ok: false,
        failure: { httpStatus: 503, code: 1200, message: 'Temporary send failure' },
      });
      expect(raw.status).toBe(502);
      expect(raw.body).toEqual({ text: '<html>Bad Gateway</html>' });
    });

    it('delays a slow fault, then delivers the message', async () => {
      // Arrange
      optin();
      t.emulator.addFault({ kind: 'slow', delayMs: 150 });
      const started = Date.now();

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(t.emulator.messages()).toHaveLength(1);
    });

    it('discards a delayed send whose client gives up, so only the retry is recorded', async () => {
      // Arrange
      optin();
      t.emulator.addFault({ kind: 'slow', delayMs: 600 });

      // Act
      const timedOut = await send(update(), PAGE_TOKEN, 150);
      await sleep(650); // past the delay: a late delivery would show up now
      const afterAbort = t.emulator.messages();
      const locksAfterAbort = t.emulator.state().locks;
      const retry = await send(update());

      // Assert
      expect(timedOut).toMatchObject({ ok: false, failure: { network: 'timeout' } });
      if (timedOut.ok) throw new Error('unreachable');
      expect(classifySendFailure(timedOut.failure)).toBe('transient');
      expect(afterAbort).toEqual([]);
      expect(locksAfterAbort).toEqual([]);
      if (!retry.ok) throw new Error(`retry refused: ${retry.failure.message}`);
      expect(t.emulator.messages().map((m) => m.messageId)).toEqual([retry.messageId]);
      expect(t.emulator.requests().map((r) => [r.outcome, r.status])).toEqual([
        ['aborted', 499],
        ['accepted', 200],
      ]);
    });

    it('records a delayed send whose client gives up when deliverOnAbort is set', async () => {
      // Arrange
      optin();
      t.emulator.addFault({ kind: 'slow', delayMs: 600, deliverOnAbort: true });

      // Act
      const timedOut = await send(update(), PAGE_TOKEN, 150);
      await sleep(100);

      // Assert
      expect(timedOut.ok).toBe(false);
      expect(t.emulator.messages()).toHaveLength(1);
      expect(t.emulator.requests()).toMatchObject([
        { outcome: 'aborted', messageId: t.emulator.messages()[0]?.messageId },
      ]);
    });
  });
});
