import {
  APP_SECRET,
  HOUR_MS,
  OTHER_PAGE_ID,
  OTHER_PAGE_TOKEN,
  PAGE_ID,
  PAGE_TOKEN,
} from '../../../helpers/factories';
import { DAY_MS, LOGIN, PSID, proofOf, T0, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, userMessage, toPsid, call, post } = useEmulator();

  describe('control API', () => {
    it('registers opt-ins and opt-outs over HTTP and shows them in the state', async () => {
      // Act
      const created = await call('/_emulator/optins', {
        json: { loginId: LOGIN, pageId: PAGE_ID, timestamp: T0 - HOUR_MS },
      });
      const defaulted = await call('/_emulator/optins', {
        json: { loginId: 'login-now', pageId: Number(PAGE_ID) },
      });
      const optout = await call('/_emulator/optouts', { json: { loginId: 'login-now' } });
      const state = await call('/_emulator/state', { method: 'GET' });

      // Assert
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        loginId: LOGIN,
        pageId: PAGE_ID,
        optedInAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(defaulted.body).toMatchObject({ pageId: PAGE_ID, optedInAt: T0 });
      expect(optout.status).toBe(201);
      expect(state.body).toMatchObject({
        optins: [{ loginId: LOGIN }, { loginId: 'login-now' }],
        locks: [],
        optouts: [{ loginId: 'login-now' }],
        faults: [],
      });
    });

    it('registers user messages and PSID opt-outs over HTTP and shows them in the state', async () => {
      // Act
      const created = await call('/_emulator/user-messages', {
        json: { psid: PSID, pageId: PAGE_ID, timestamp: T0 - HOUR_MS },
      });
      const defaulted = await call('/_emulator/user-messages', {
        json: { psid: 2222222222222222, pageId: Number(PAGE_ID) },
      });
      const optout = await call('/_emulator/optouts', {
        json: { psid: '2222222222222222', pageId: PAGE_ID },
      });
      const state = await call('/_emulator/state', { method: 'GET' });

      // Assert
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        psid: PSID,
        pageId: PAGE_ID,
        lastMessageAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(defaulted.body).toMatchObject({ psid: '2222222222222222', lastMessageAt: T0 });
      expect(optout.status).toBe(201);
      expect(optout.body).toEqual({ psid: '2222222222222222', pageId: PAGE_ID });
      expect(state.body).toMatchObject({
        userMessages: [{ psid: PSID }, { psid: '2222222222222222' }],
        psids: [
          { psid: PSID, pageId: PAGE_ID },
          { psid: '2222222222222222', pageId: PAGE_ID },
        ],
        optouts: [{ psid: '2222222222222222', pageId: PAGE_ID }],
      });
    });

    it('answers 400 naming the field for an invalid user message or opt-out', async () => {
      // Act
      const notDigits = await call('/_emulator/user-messages', {
        json: { psid: LOGIN, pageId: PAGE_ID },
      });
      const noPage = await call('/_emulator/user-messages', { json: { psid: PSID } });
      const both = await call('/_emulator/optouts', { json: { loginId: LOGIN, psid: PSID } });
      const neither = await call('/_emulator/optouts', { json: { pageId: PAGE_ID } });

      // Assert
      expect(notDigits.status).toBe(400);
      expect(String(notDigits.body.error?.message)).toContain('userMessage.psid');
      expect(String(noPage.body.error?.message)).toContain('userMessage.pageId');
      expect(both.status).toBe(400);
      expect(String(both.body.error?.message)).toContain('needs exactly one of loginId, psid');
      expect(neither.status).toBe(400);
      expect(t.emulator.state()).toMatchObject({ userMessages: [], optouts: [] });
    });

    it('lists PSID sends filtered by psid, apart from login_id sends', async () => {
      // Arrange
      optin();
      const first = await post(update());
      const linked = String(first.body.recipient_id);
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, linked);
      await post(toPsid());
      await post(toPsid(linked, 'RESPONSE'));

      // Act
      const one = await call(`/_emulator/messages?psid=${PSID}`, { method: 'GET' });
      const linkedOnly = await call(`/_emulator/messages?psid=${linked}`, { method: 'GET' });
      const byLogin = await call(`/_emulator/messages?loginId=${LOGIN}`, { method: 'GET' });

      // Assert
      expect(one.body).toEqual([
        {
          messageId: expect.any(String),
          pageId: PAGE_ID,
          recipient: { id: PSID },
          messagingType: 'UPDATE',
          message: { text: 'Your order has shipped' },
          at: new Date(T0).toISOString(),
          recipientId: PSID,
        },
      ]);
      expect(linkedOnly.body).toMatchObject([
        { recipient: { id: linked }, messagingType: 'RESPONSE' },
      ]);
      expect(byLogin.body).toMatchObject([{ recipient: { login_id: LOGIN }, recipientId: linked }]);
    });

    it('answers 400 naming the field for an invalid opt-in or fault', async () => {
      // Act
      const optinAnswer = await call('/_emulator/optins', { json: { loginId: LOGIN } });
      const faultAnswer = await call('/_emulator/faults', { json: { kind: 'meltdown' } });
      const notJson = await call('/_emulator/faults', { body: 'kind=slow' });

      // Assert
      expect(optinAnswer.status).toBe(400);
      expect(String(optinAnswer.body.error?.message)).toContain('optin.pageId');
      expect(faultAnswer.status).toBe(400);
      expect(String(faultAnswer.body.error?.message)).toContain('fault.kind');
      expect(notJson.status).toBe(400);
    });

    it('queues and clears faults over HTTP', async () => {
      // Arrange
      optin();

      // Act
      const queued = await call('/_emulator/faults', {
        json: { kind: 'unavailable', loginId: LOGIN, times: 3 },
      });
      const first = await post(update());
      const cleared = await call('/_emulator/faults', { method: 'DELETE' });
      const second = await post(update());

      // Assert
      expect(queued.status).toBe(201);
      expect(queued.body).toMatchObject({
        kind: 'unavailable',
        loginId: LOGIN,
        remaining: 3,
        reply: { status: 400, error: { code: 551 } },
      });
      expect(first.body.error).toMatchObject({ code: 551 });
      expect(cleared.body).toEqual({ cleared: 1 });
      expect(second.status).toBe(200);
    });

    it('lists messages oldest first, filtered by loginId or pageId', async () => {
      // Arrange
      optin('login-1');
      optin('login-2');
      await post(update('login-1'));
      t.clock += 1000;
      await post(update('login-2'));

      // Act
      const all = await call('/_emulator/messages', { method: 'GET' });
      const one = await call('/_emulator/messages?loginId=login-2', { method: 'GET' });
      const none = await call(`/_emulator/messages?pageId=${OTHER_PAGE_ID}`, { method: 'GET' });

      // Assert
      expect((all.body as unknown as { recipient: unknown }[]).map((m) => m.recipient)).toEqual([
        { login_id: 'login-1' },
        { login_id: 'login-2' },
      ]);
      expect(one.body).toMatchObject([{ recipient: { login_id: 'login-2' } }]);
      expect(none.body).toEqual([]);
    });

    it('records every send request without tokens or proofs', async () => {
      // Arrange
      optin();
      const proof = proofOf(PAGE_TOKEN);

      // Act
      await send(update());
      await post(update(), OTHER_PAGE_TOKEN);
      await call(`/${VERSION}/me/messages?access_token=${PAGE_TOKEN}&appsecret_proof=${proof}`, {
        json: update(),
      });
      await call(`/${VERSION}/me/messages?appsecret_proof=${proof}`, {
        json: update(),
        headers: { authorization: `Bearer ${PAGE_TOKEN}` },
      });
      await send(update(), 'EAAB-unknown-token');
      const answer = await call('/_emulator/requests', { method: 'GET' });

      // Assert
      const text = JSON.stringify(answer.body);
      for (const secret of [
        PAGE_TOKEN,
        OTHER_PAGE_TOKEN,
        'EAAB-unknown-token',
        proof,
        APP_SECRET,
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(answer.body).toMatchObject([
        { path: `/${VERSION}/me/messages`, pageId: PAGE_ID, tokenIn: 'body', status: 200 },
        { pageId: OTHER_PAGE_ID, status: 400, outcome: 'refused', error: { code: 100 } },
        { tokenIn: 'query', status: 200, recipient: { login_id: LOGIN } },
        { tokenIn: 'header', status: 200, messagingType: 'UPDATE' },
        { status: 400, error: { code: 190 } },
      ]);
    });

    it('answers health, resets everything and refuses unknown endpoints', async () => {
      // Arrange
      optin();
      await post(update());
      t.emulator.addFault({ kind: 'slow' });
      t.emulator.setFlaky({ rate: 0.5 });

      // Act
      const health = await call('/_emulator/health', { method: 'GET' });
      const reset = await call('/_emulator/reset', { method: 'POST' });
      const unknown = await call('/_emulator/nothing', { method: 'GET' });
      const wrongMethod = await call('/_emulator/state', { method: 'POST' });

      // Assert
      expect(health.body).toEqual({ ok: true });
      expect(reset.body).toEqual({ ok: true });
      expect(t.emulator.state()).toEqual({
        optins: [],
        locks: [],
        optouts: [],
        userMessages: [],
        psids: [],
        faults: [],
        flaky: null,
        permissions: [],
        restrictions: [],
        revokedTokens: [],
        usage: { pages: [] },
        subscriptions: [],
      });
      expect(t.emulator.messages()).toEqual([]);
      expect(t.emulator.requests()).toEqual([]);
      expect(unknown.status).toBe(404);
      expect(wrongMethod.status).toBe(405);
    });
  });
});
