import { GraphEmulator } from '../../../../infra/local/graph-emulator';
import { sendApiClient } from '../../../../shared/graph/send-api';
import { subscribedAppsClient } from '../../../../shared/graph/subscribed-apps';
import { regainAccessMs } from '../../../../shared/graph/usage';
import { classifySendFailure, pageProblem } from '../../../../shared/login-connect/send-errors';
import { parseAppSecrets } from '../../../../shared/secrets';
import {
  APP_SECRET,
  HOUR_MS,
  OTHER_PAGE_ID,
  OTHER_PAGE_TOKEN,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../../../helpers/factories';
import { LOGIN, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, secrets, update, send, optin, call, post } = useEmulator();

  describe("a Page's health: restrictions, usage headers, revoked tokens", () => {
    it('refuses every send of a restricted Page with 10/1893063, which pauses the Page', async () => {
      // Arrange
      optin();
      optin('login-other', OTHER_PAGE_ID);
      t.emulator.restrictPage({ pageId: PAGE_ID });

      // Act
      const restricted = await send(update());
      const otherPage = await send(update('login-other'), OTHER_PAGE_TOKEN);

      // Assert
      if (restricted.ok) throw new Error('expected a refusal');
      expect(restricted.failure).toMatchObject({ httpStatus: 400, code: 10, subcode: 1893063 });
      expect(classifySendFailure(restricted.failure)).toBe('page_restricted');
      expect(pageProblem(restricted.failure)).toBe('page_restricted');
      expect(otherPage.ok).toBe(true);
      expect(t.emulator.messages({ pageId: PAGE_ID })).toEqual([]);
      expect(t.emulator.state().restrictions).toEqual([{ pageId: PAGE_ID }]);
    });

    it('lifts a restriction when cleared, or at its end', async () => {
      // Arrange
      optin();
      optin('login-other');
      t.emulator.restrictPage({ pageId: PAGE_ID, untilMs: t.clock + 60_000 });

      // Act
      const during = await post(update());
      t.clock += 60_000;
      const after = await post(update());
      t.emulator.restrictPage({ pageId: PAGE_ID });
      const cleared = await call(`/_emulator/restrictions?pageId=${PAGE_ID}`, { method: 'DELETE' });
      const again = await post(update('login-other'));

      // Assert
      expect(during.status).toBe(400);
      expect(after.status).toBe(200);
      expect(cleared.body).toEqual({ cleared: 1 });
      expect(again.status).toBe(200);
    });

    it('sets restrictions through the control API, and clears them all', async () => {
      // Act
      const set = await call('/_emulator/restrictions', { json: { pageId: Number(PAGE_ID) } });
      const bad = await call('/_emulator/restrictions', { json: { page: PAGE_ID } });
      await call('/_emulator/restrictions', { json: { pageId: OTHER_PAGE_ID } });
      const cleared = await call('/_emulator/restrictions', { method: 'DELETE' });

      // Assert
      expect(set).toMatchObject({ status: 201, body: { pageId: PAGE_ID } });
      expect(bad.status).toBe(400);
      expect(cleared.body).toEqual({ cleared: 2 });
      expect(t.emulator.state().restrictions).toEqual([]);
    });

    it("answers Graph's usage headers, zeros by default, on successes and errors", async () => {
      // Arrange
      optin();

      // Act
      const answer = await post(update());
      const refused = await post(update('unknown-login'));

      // Assert
      for (const { headers } of [answer, refused]) {
        expect(JSON.parse(headers.get('x-app-usage') ?? '')).toEqual({
          call_count: 0,
          total_cputime: 0,
          total_time: 0,
        });
        expect(JSON.parse(headers.get('x-business-use-case-usage') ?? '')).toEqual({
          [PAGE_ID]: [
            {
              type: 'messenger',
              call_count: 0,
              total_cputime: 0,
              total_time: 0,
              estimated_time_to_regain_access: 0,
            },
          ],
        });
      }
    });

    it('answers the usage set through the control API, which our client reads', async () => {
      // Arrange
      optin();
      const set = await call('/_emulator/usage', {
        json: {
          pageId: PAGE_ID,
          app: { call_count: 42, total_cputime: 7, total_time: 9 },
          business: { type: 'messenger', call_count: 100, estimated_time_to_regain_access: 4 },
        },
      });
      t.emulator.addFault({ kind: 'page_rate_limit' });

      // Act
      const outcome = await send(update());

      // Assert
      expect(set.status).toBe(201);
      if (outcome.ok) throw new Error('expected the fault');
      expect(pageProblem(outcome.failure)).toBe('rate_limited');
      expect(outcome.usage).toEqual({
        app: { callCount: 42, totalCputime: 7, totalTime: 9 },
        business: {
          [PAGE_ID]: [{ type: 'messenger', callCount: 100, regainAccessMinutes: 4 }],
        },
      });
      expect(regainAccessMs(outcome.usage, PAGE_ID)).toBe(4 * 60_000);
      expect((await call('/_emulator/usage', { method: 'DELETE' })).body).toEqual({ cleared: 2 });
      expect(t.emulator.state().usage).toEqual({ pages: [] });
    });

    it('refuses a business entry without its Page', async () => {
      // Act
      const answer = await call('/_emulator/usage', { json: { business: { call_count: 1 } } });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error?.message).toContain('business needs pageId');
    });

    it("revokes the Page's current token (190/460 on every call) until the secret holds a new one", async () => {
      // Arrange: an emulator whose secret the test can change, as an operator edits the file.
      let current = secrets;
      const own = await GraphEmulator.start({ secrets: () => current, now: () => t.clock });
      const ownSend = (token: string) =>
        sendApiClient({ baseUrl: own.url, version: VERSION, timeoutMs: 2000 })({
          accessToken: token,
          appSecret: APP_SECRET,
          body: update(),
        });
      try {
        own.registerOptin({ loginId: LOGIN, pageId: PAGE_ID, timestamp: t.clock - HOUR_MS });
        const revoked = await fetch(`${own.url}/_emulator/revoked-tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pageId: PAGE_ID }),
        });

        // Act
        const refused = await ownSend(PAGE_TOKEN);
        const listed = await subscribedAppsClient({
          baseUrl: own.url,
          version: VERSION,
          timeoutMs: 2000,
        }).list(PAGE_ID, PAGE_TOKEN, APP_SECRET);
        current = parseAppSecrets(
          secretDocument({ pages: { [PAGE_ID]: { accessToken: 'EAAB-new-token' } } }),
          'rotated',
        );
        const withNew = await ownSend('EAAB-new-token');

        // Assert
        expect(revoked.status).toBe(201);
        if (refused.ok) throw new Error('expected 190');
        expect(refused.failure).toMatchObject({ code: 190, subcode: 460 });
        expect(classifySendFailure(refused.failure)).toBe('token_invalid');
        expect(listed).toMatchObject({ ok: false, failure: { code: 190 } });
        expect(withNew.ok).toBe(true);
        expect(own.state().revokedTokens).toEqual([{ pageId: PAGE_ID, count: 1 }]);
        expect(JSON.stringify(own.state())).not.toContain(PAGE_TOKEN);
      } finally {
        await own.close();
      }
    });

    it('refuses to revoke the token of a Page the secret does not have', async () => {
      // Act
      const answer = await call('/_emulator/revoked-tokens', { json: { pageId: '999' } });

      // Assert
      expect(answer.status).toBe(400);
    });
  });
});
