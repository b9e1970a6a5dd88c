import {
  REQUIRED_PAGE_FIELDS,
  subscribedAppsClient,
} from '../../../../shared/graph/subscribed-apps';
import { APP_SECRET, OTHER_PAGE_ID, PAGE_ID, PAGE_TOKEN } from '../../../helpers/factories';
import { proofOf, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, call } = useEmulator();

  describe('GET/POST /{version}/{page-id}/subscribed_apps', () => {
    const subscriptions = () =>
      subscribedAppsClient({ baseUrl: t.emulator.url, version: VERSION, timeoutMs: 2000 });

    it('lists our app subscribed with the fields we need, by default, to the token in a header', async () => {
      // Act
      const listed = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);

      // Assert
      expect(listed).toEqual({
        ok: true,
        apps: [
          {
            id: '3000000000000003',
            name: 'Login Connect (emulated app)',
            fields: [...REQUIRED_PAGE_FIELDS],
          },
        ],
      });
      const [request] = t.emulator.requests();
      expect(request).toMatchObject({
        method: 'GET',
        path: `/${VERSION}/${PAGE_ID}/subscribed_apps`,
        pageId: PAGE_ID,
        tokenIn: 'header',
        status: 200,
        outcome: 'accepted',
      });
    });

    it('lists nothing once Facebook dropped the subscription, until the app subscribes again', async () => {
      // Arrange
      const dropped = await call('/_emulator/subscriptions/drop', { json: { pageId: PAGE_ID } });

      // Act
      const before = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);
      const subscribed = await subscriptions().subscribe(
        PAGE_ID,
        ['messages', 'messaging_optins'],
        PAGE_TOKEN,
        APP_SECRET,
      );
      const after = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);

      // Assert
      expect(dropped.body).toEqual({ pageId: PAGE_ID, fields: [], refuseSubscribe: false });
      expect(before).toEqual({ ok: true, apps: [] });
      expect(subscribed).toEqual({ ok: true });
      expect(after).toMatchObject({
        ok: true,
        apps: [{ fields: ['messages', 'messaging_optins'] }],
      });
      expect(t.emulator.requests()[1]).toMatchObject({ method: 'POST', tokenIn: 'body' });
      expect(JSON.stringify(t.emulator.requests())).not.toContain(PAGE_TOKEN);
    });

    it('refuses to subscribe a Page whose token may not (403, code 200)', async () => {
      // Arrange
      t.emulator.dropSubscription({ pageId: PAGE_ID, refuseSubscribe: true });

      // Act
      const subscribed = await subscriptions().subscribe(
        PAGE_ID,
        ['messaging_optins'],
        PAGE_TOKEN,
        APP_SECRET,
      );

      // Assert
      expect(subscribed).toMatchObject({
        ok: false,
        failure: { httpStatus: 403, code: 200, message: '(#200) Permissions error' },
      });
      expect(t.emulator.subscription(PAGE_ID).fields).toEqual([]);
    });

    it('takes subscribed_fields from the query as a list, and refuses unknown or missing fields', async () => {
      // Act
      const path = `/${VERSION}/${PAGE_ID}/subscribed_apps?appsecret_proof=${proofOf(PAGE_TOKEN)}`;
      const ok = await call(`${path}&subscribed_fields=messages,%20feed`, {
        json: { access_token: PAGE_TOKEN },
      });
      const unknown = await call(`${path}&subscribed_fields=messages,nope`, {
        json: { access_token: PAGE_TOKEN },
      });
      const missing = await call(path, { json: { access_token: PAGE_TOKEN } });
      const asJson = await call(path, {
        json: { access_token: PAGE_TOKEN, subscribed_fields: ['message_reads'] },
      });

      // Assert
      expect(ok.body).toEqual({ success: true });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error?.message).toMatch(/^\(#100\) Param subscribed_fields\[1\]/);
      expect(missing.body.error?.message).toBe(
        '(#100) The parameter subscribed_fields is required',
      );
      expect(asJson.body).toEqual({ success: true });
      expect(t.emulator.subscription(PAGE_ID).fields).toEqual(['message_reads']);
    });

    it("checks credentials as for sends: the Page's own token, and the proof", async () => {
      // Act
      const base = `/${VERSION}/${PAGE_ID}/subscribed_apps`;
      const auth = { authorization: `Bearer ${PAGE_TOKEN}` };
      const noProof = await call(base, { method: 'GET', headers: auth });
      const badProof = await call(`${base}?appsecret_proof=00`, { method: 'GET', headers: auth });
      const noToken = await call(`${base}?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        method: 'GET',
      });
      const otherPage = await subscriptions().list(OTHER_PAGE_ID, PAGE_TOKEN, APP_SECRET);
      const unknownToken = await subscriptions().list(PAGE_ID, 'EAAB-unknown', APP_SECRET);
      const deleted = await call(`${base}?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        method: 'DELETE',
        headers: auth,
      });

      // Assert
      expect(noProof.body.error?.message).toContain('require an appsecret_proof');
      expect(badProof.body.error?.message).toContain('Invalid appsecret_proof');
      expect(noToken.body.error?.code).toBe(104);
      expect(otherPage).toMatchObject({ ok: false, failure: { code: 100, subcode: 33 } });
      expect(unknownToken).toMatchObject({ ok: false, failure: { code: 190 } });
      expect(deleted.body.error).toMatchObject({ code: 100, error_subcode: 33 });
    });

    it('answers usage headers on subscription calls too', async () => {
      // Act
      const answer = await call(
        `/${VERSION}/${PAGE_ID}/subscribed_apps?appsecret_proof=${proofOf(PAGE_TOKEN)}`,
        { method: 'GET', headers: { authorization: `Bearer ${PAGE_TOKEN}` } },
      );

      // Assert
      expect(answer.headers.get('x-business-use-case-usage')).toContain(PAGE_ID);
    });

    it('sets a subscription through the control API, and shows it in the state', async () => {
      // Act
      const set = await call('/_emulator/subscriptions', {
        json: { pageId: PAGE_ID, fields: ['messages'], refuseSubscribe: true },
      });

      // Assert
      expect(set.status).toBe(201);
      expect(t.emulator.state().subscriptions).toEqual([
        { pageId: PAGE_ID, fields: ['messages'], refuseSubscribe: true },
      ]);
      expect(t.emulator.subscription(OTHER_PAGE_ID).fields).toEqual(REQUIRED_PAGE_FIELDS);
    });
  });
});
