import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { signRequest } from '../../shared/facebook/signed-request';
import { loginIdFor } from '../../shared/login-connect/login-id';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { keys } from '../../shared/store/table-definition';
import {
  API_KEY,
  APP_SECRET,
  acceptAllBatches,
  apiGatewayEvent,
  HOUR_MS,
  lambdaContext,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
  sqsRecord,
  uniqueId,
} from '../helpers/factories';
import { GraphStub, graphError } from '../helpers/graph-stub';
import { writeSecretsFile } from '../helpers/secrets-file';
import { freshTable, optinItem } from '../helpers/tables';

const LOGIN_APP = { appId: '5550000000000001', clientToken: 'client-token-for-tests' };
const sqsMock = mockClient(SQSClient);
const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let api: (e: APIGatewayProxyEventV2, c: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let sender: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;
let people: DynamoDbPersonStore;
const unique = uniqueId;

async function call(
  routeKey: string,
  body?: unknown,
  options: {
    headers?: Record<string, string>;
    pathParameters?: Record<string, string>;
    raw?: string;
  } = {},
) {
  const [method, path = ''] = routeKey.split(' ');
  const event = {
    ...apiGatewayEvent({
      method: method as 'POST',
      ...(options.raw !== undefined
        ? { body: options.raw }
        : body !== undefined
          ? { body: JSON.stringify(body) }
          : {}),
      headers: options.headers ?? {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
      },
    }),
    routeKey,
    rawPath: path,
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
  };
  const response = await api(event, lambdaContext('api'));
  return {
    status: response.statusCode,
    body: JSON.parse(response.body ?? '{}'),
    headers: response.headers ?? {},
  };
}

/** The queue messages the API enqueued since the last call, as the sender would receive them. */
function drainQueue(): SQSEvent {
  const bodies = sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries?.map((e) => e.MessageBody ?? '') ?? []);
  sqsMock.resetHistory();
  return { Records: bodies.map((b) => sqsRecord(b)) };
}

/**
 * An opt-in whose first message went out, and (optionally) a reply that linked the PSID. A recent
 * one goes through the real sender; an old one is written as the sender would have left it.
 */
async function sentOptin(options: { replyAtMs?: number; optinAtMs?: number } = {}) {
  const loginId = unique('L');
  const psid = unique('9');
  const optinAt = options.optinAtMs ?? Date.now();
  if (Date.now() - optinAt < HOUR_MS) {
    const job = {
      v: 1,
      kind: 'optin',
      pageId: PAGE_ID,
      loginId,
      optinAt,
      receivedAt: optinAt,
      source: 'webhook',
    };
    await sender({ Records: [sqsRecord(JSON.stringify(job))] }, lambdaContext('sender'));
  } else {
    const at = new Date(optinAt).toISOString();
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: {
          ...keys.optin(loginId),
          type: 'optin',
          status: 'sent',
          pageId: PAGE_ID,
          optinAt: at,
          sentAt: at,
        },
      }),
    );
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...keys.lock(loginId), type: 'lock', pageId: PAGE_ID, lockedAt: at },
      }),
    );
  }
  if (options.replyAtMs !== undefined)
    await people.recordUserMessage(
      { psid, pageId: PAGE_ID, atMs: options.replyAtMs, priorLoginId: loginId },
      Date.now(),
    );
  return { loginId, psid };
}

/** Every item in the table. */
async function scanTable() {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ctx.doc.send(
      new ScanCommand({ TableName: ctx.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A person whose first message went out, to the login_id derived from their ASID. */
async function sentOptinByLogin() {
  const asid = unique('1');
  const loginId = loginIdFor({
    asid,
    appId: LOGIN_APP.appId,
    pageId: PAGE_ID,
    clientToken: LOGIN_APP.clientToken,
  });
  const job = {
    v: 1,
    kind: 'optin',
    pageId: PAGE_ID,
    loginId,
    optinAt: Date.now(),
    receivedAt: Date.now(),
    source: 'webhook',
  };
  await sender({ Records: [sqsRecord(JSON.stringify(job))] }, lambdaContext('sender'));
  return { asid, loginId };
}

beforeAll(async () => {
  ctx = await freshTable();
  await graph.start();
  Object.assign(process.env, {
    TABLE_NAME: ctx.tableName,
    QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
    LCM_SECRETS_FILE: writeSecretsFile(secretDocument({ loginApp: LOGIN_APP })),
    GRAPH_API_URL: graph.url,
    FIRST_MESSAGES_JSON: JSON.stringify({ default: { message: { text: 'Welcome!' } } }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Loaded after the environment is set: the handlers read their configuration at import, as in Lambda.
  ({ handler: api } = require('../../functions/api') as typeof import('../../functions/api'));
  ({ handler: sender } =
    require('../../functions/sender') as typeof import('../../functions/sender'));
  people = new DynamoDbPersonStore(ctx.doc, ctx.tableName, {
    optinDays: 30,
    lockDays: 365,
    suppressionDays: 730,
    eventDays: 7,
  });
});
afterAll(async () => {
  ctx.raw.destroy();
  await graph.stop();
});
beforeEach(() => {
  sqsMock.reset();
  acceptAllBatches(sqsMock);
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('functions/api', () => {
  describe('authentication', () => {
    it.each([
      ['no key', {}],
      ['a wrong key', { authorization: `Bearer ${'x'.repeat(30)}` }],
    ])('answers 401 with WWW-Authenticate to %s', async (_name, headers) => {
      const response = await call('POST /optouts', { loginId: 'L' }, { headers });

      expect(response.status).toBe(401);
      expect(response.headers).toMatchObject({ 'www-authenticate': 'Bearer' });
      expect(response.body).toMatchObject({ error: 'unauthorized' });
    });

    it('answers 404 to a route it does not have', async () => {
      expect((await call('POST /nothing', {})).status).toBe(404);
    });
  });

  describe('POST /optouts', () => {
    it('suppresses the person under every linked identifier', async () => {
      await people.link({ kind: 'asid', id: 'A-1' }, { kind: 'login', id: 'L-1' }, {}, Date.now());
      await people.link({ kind: 'login', id: 'L-1' }, { kind: 'psid', id: 'P-1' }, {}, Date.now());

      const response = await call('POST /optouts', { asid: 'A-1', reason: 'asked on the phone' });

      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        status: 'suppressed',
        identifiers: expect.arrayContaining([{ kind: 'psid', id: 'P-1' }]),
      });
      const item = await ctx.doc.send(
        new GetCommand({
          TableName: ctx.tableName,
          Key: keys.suppression({ kind: 'psid', id: 'P-1' }),
        }),
      );
      expect(item.Item).toMatchObject({ source: 'api', reason: 'asked on the phone' });
    });

    it('by ASID also blocks a later opt-in for the login_id derived for each Page', async () => {
      const asid = unique('1');
      const loginId = loginIdFor({
        asid,
        appId: LOGIN_APP.appId,
        pageId: PAGE_ID,
        clientToken: LOGIN_APP.clientToken,
      });

      const response = await call('POST /optouts', { asid });
      const calls = graph.calls.length;
      const job = {
        v: 1,
        kind: 'optin',
        pageId: PAGE_ID,
        loginId,
        optinAt: Date.now(),
        receivedAt: Date.now(),
        source: 'webhook',
      };
      await sender({ Records: [sqsRecord(JSON.stringify(job))] }, lambdaContext('sender'));

      expect(response.body.identifiers).toContainEqual({ kind: 'login', id: loginId });
      expect(graph.calls.length).toBe(calls);
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toMatchObject({
        status: 'opted_out',
      });
    });

    it.each([
      ['no identifier', {}],
      ['two identifiers', { loginId: 'L', psid: 'P' }],
      ['an unknown field', { email: 'a@b.c' }],
    ])('answers 400 naming the problem for %s', async (_name, body) => {
      const response = await call('POST /optouts', body);

      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('POST /logins', () => {
    it('checks the grant with Graph, derives the login_id as Facebook does, links the ASID and sends once', async () => {
      const asid = unique('1');
      graph.answer({
        status: 200,
        body: { data: [{ permission: 'user_messenger_contact', status: 'granted' }] },
      });

      const response = await call('POST /logins', {
        asid,
        pageId: PAGE_ID,
        userAccessToken: 'user-token-123',
        newGrant: true,
      });

      const loginId = loginIdFor({
        asid,
        appId: LOGIN_APP.appId,
        pageId: PAGE_ID,
        clientToken: LOGIN_APP.clientToken,
      });
      expect(response).toMatchObject({ status: 202, body: { loginId, status: 'queued' } });
      const permissionsCall = graph.calls.at(-1);
      expect(permissionsCall?.path).toBe(`/v25.0/${asid}/permissions`);
      expect(permissionsCall?.headers.authorization).toBe('Bearer user-token-123');
      expect(permissionsCall?.query.has('access_token')).toBe(false);
      expect((await people.identity({ kind: 'asid', id: asid })).ids).toContainEqual({
        kind: 'login',
        id: loginId,
      });

      // The login event and the webhook that arrives later meet one record: one message.
      const fromLogin = drainQueue();
      const webhookJob = sqsRecord(
        JSON.stringify({
          v: 1,
          kind: 'optin',
          pageId: PAGE_ID,
          loginId,
          optinAt: Date.now(),
          receivedAt: Date.now(),
          source: 'webhook',
        }),
      );
      await sender(fromLogin, lambdaContext('sender'));
      await sender({ Records: [webhookJob] }, lambdaContext('sender'));
      expect(
        graph.calls.filter(
          (c) => (c.body.recipient as { login_id?: string } | undefined)?.login_id === loginId,
        ),
      ).toHaveLength(1);
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toMatchObject({
        status: 'sent',
        sources: new Set(['login']),
      });
    });

    it('refuses a login that is not a new grant (the default), without asking Graph', async () => {
      const calls = graph.calls.length;

      const response = await call('POST /logins', {
        asid: unique('1'),
        pageId: PAGE_ID,
        userAccessToken: 't',
      });

      expect(response).toMatchObject({ status: 409, body: { error: 'grant_not_new' } });
      expect(graph.calls).toHaveLength(calls);
      expect(drainQueue().Records).toHaveLength(0);
    });

    it('refuses a new grant for a login_id that already had its first message', async () => {
      const { loginId, asid } = await sentOptinByLogin();
      graph.answer({
        status: 200,
        body: { data: [{ permission: 'user_messenger_contact', status: 'granted' }] },
      });

      const response = await call('POST /logins', {
        asid,
        pageId: PAGE_ID,
        userAccessToken: 't',
        newGrant: true,
      });

      expect(response).toMatchObject({
        status: 409,
        body: { error: 'first_message_already_sent' },
      });
      expect(drainQueue().Records).toHaveLength(0);
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toMatchObject({ status: 'sent' });
    });

    it('refuses with 409 and queues nothing when user_messenger_contact is not granted', async () => {
      graph.answer({
        status: 200,
        body: { data: [{ permission: 'user_messenger_contact', status: 'declined' }] },
      });

      const response = await call('POST /logins', {
        asid: unique('1'),
        pageId: PAGE_ID,
        userAccessToken: 't',
        newGrant: true,
      });

      expect(response).toMatchObject({ status: 409, body: { error: 'permission_not_granted' } });
      expect(drainQueue().Records).toHaveLength(0);
    });

    it('refuses a person whose ASID opted out', async () => {
      const asid = unique('1');
      await people.suppress(
        { kind: 'asid', id: asid },
        { source: 'api', reason: 'request' },
        Date.now(),
      );
      graph.answer({
        status: 200,
        body: { data: [{ permission: 'user_messenger_contact', status: 'granted' }] },
      });

      expect(
        await call('POST /logins', { asid, pageId: PAGE_ID, userAccessToken: 't', newGrant: true }),
      ).toMatchObject({ status: 409, body: { error: 'opted_out' } });
    });

    it('says 502 when Graph cannot be asked, and 409 when it refuses the token', async () => {
      graph.answer({ status: 500, body: graphError(2) }, { status: 400, body: graphError(190) });

      expect(
        (
          await call('POST /logins', {
            asid: '1',
            pageId: PAGE_ID,
            userAccessToken: 't',
            newGrant: true,
          })
        ).body,
      ).toMatchObject({ error: 'graph_unavailable' });
      expect(
        (
          await call('POST /logins', {
            asid: '1',
            pageId: PAGE_ID,
            userAccessToken: 't',
            newGrant: true,
          })
        ).body,
      ).toMatchObject({ error: 'permission_check_failed' });
    });
  });

  describe('POST /messages and GET /messages/{id}', () => {
    it('sends a follow-up to the linked PSID inside the window, then reports its status', async () => {
      const { loginId, psid } = await sentOptin({ replyAtMs: Date.now() });

      const accepted = await call('POST /messages', {
        to: { loginId },
        message: { text: 'Your order shipped.' },
      });
      await sender(drainQueue(), lambdaContext('sender'));
      const status = await call('GET /messages/{id}', undefined, {
        pathParameters: { id: accepted.body.id },
      });

      expect(accepted).toMatchObject({
        status: 202,
        body: { status: 'queued', id: expect.stringMatching(/^msg_/) },
      });
      const sent = graph.calls.at(-1);
      expect(sent?.body).toMatchObject({
        recipient: { id: psid },
        messaging_type: 'UPDATE',
        message: { text: 'Your order shipped.' },
        access_token: PAGE_TOKEN,
      });
      expect(status.body).toMatchObject({
        id: accepted.body.id,
        status: 'sent',
        pageId: PAGE_ID,
        attempts: 1,
        messageId: expect.stringMatching(/^m_/),
      });
    });

    it.each([
      ['an UPDATE outside the 24 h window', { messagingType: 'UPDATE' }, 409, 'outside_24h_window'],
      ['MESSAGE_TAG without a tag', { messagingType: 'MESSAGE_TAG' }, 400, 'tag_required'],
      [
        'a tag with UPDATE',
        { messagingType: 'UPDATE', tag: 'ACCOUNT_UPDATE' },
        400,
        'tag_needs_message_tag',
      ],
    ])('refuses %s, naming the rule', async (_name, extra, status, rule) => {
      const { loginId } = await sentOptin({
        optinAtMs: Date.now() - 30 * HOUR_MS,
        replyAtMs: Date.now() - 26 * HOUR_MS,
      });

      const response = await call('POST /messages', {
        to: { loginId },
        message: { text: 'hi' },
        ...extra,
      });

      expect(response).toMatchObject({ status, body: { error: rule } });
      expect(drainQueue().Records).toHaveLength(0);
    });

    it('refuses a retired tag with 400 and the date, and calls no Graph', async () => {
      const { loginId } = await sentOptin({
        optinAtMs: Date.now() - 30 * HOUR_MS,
        replyAtMs: Date.now() - 26 * HOUR_MS,
      });
      const calls = graph.calls.length;

      const response = await call('POST /messages', {
        to: { loginId },
        message: { text: 'Your account changed.' },
        messagingType: 'MESSAGE_TAG',
        tag: 'ACCOUNT_UPDATE',
      });

      expect(response).toMatchObject({ status: 400, body: { error: 'tag_retired' } });
      expect(response.body.message).toMatch(/2026-04-27/);
      expect(drainQueue().Records).toHaveLength(0);
      expect(graph.calls).toHaveLength(calls);
    });

    it('refuses HUMAN_AGENT when the app was not granted the feature', async () => {
      const { loginId } = await sentOptin({
        optinAtMs: Date.now() - 30 * HOUR_MS,
        replyAtMs: Date.now() - 26 * HOUR_MS,
      });

      const response = await call('POST /messages', {
        to: { loginId },
        message: { text: 'An agent here.' },
        tag: 'HUMAN_AGENT',
      });

      expect(response).toMatchObject({ status: 409, body: { error: 'human_agent_not_enabled' } });
    });

    it('refuses a follow-up before the first message went out, and to someone who opted out', async () => {
      const pending = unique('L');
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            ...keys.optin(pending),
            status: 'pending',
            pageId: PAGE_ID,
            optinAt: new Date().toISOString(),
          },
        }),
      );
      const { loginId } = await sentOptin({ replyAtMs: Date.now() });
      await people.suppress(
        { kind: 'login', id: loginId },
        { source: 'api', reason: 'request' },
        Date.now(),
      );

      expect(
        await call('POST /messages', { to: { loginId: pending }, message: { text: 'x' } }),
      ).toMatchObject({ status: 409, body: { error: 'first_message_not_sent' } });
      expect(
        await call('POST /messages', { to: { loginId }, message: { text: 'x' } }),
      ).toMatchObject({ status: 409, body: { error: 'opted_out' } });
      expect(
        await call('POST /messages', { to: { psid: 'never-seen' }, message: { text: 'x' } }),
      ).toMatchObject({ status: 404, body: { error: 'unknown_psid' } });
    });

    it('checks again before sending: an opt-out while queued stops the message', async () => {
      const { loginId } = await sentOptin({ replyAtMs: Date.now() });
      const accepted = await call('POST /messages', { to: { loginId }, message: { text: 'x' } });
      const calls = graph.calls.length;

      await people.suppress(
        { kind: 'login', id: loginId },
        { source: 'stop', reason: 'stop_notifications' },
        Date.now(),
      );
      await sender(drainQueue(), lambdaContext('sender'));

      expect(graph.calls.length).toBe(calls);
      expect(
        (
          await call('GET /messages/{id}', undefined, {
            pathParameters: { id: accepted.body.id },
          })
        ).body,
      ).toMatchObject({ status: 'opted_out', reason: 'opted_out' });
    });

    it('answers 404 for an unknown message id', async () => {
      expect(
        (await call('GET /messages/{id}', undefined, { pathParameters: { id: 'msg_nope' } }))
          .status,
      ).toBe(404);
    });
  });

  describe('POST /facebook/data-deletion', () => {
    it('deletes everything tied to the ASID and answers a status URL and confirmation code', async () => {
      const asid = unique('1');
      const { loginId, psid } = await sentOptin({ replyAtMs: Date.now() });
      await people.link(
        { kind: 'asid', id: asid },
        { kind: 'login', id: loginId },
        { pageId: PAGE_ID },
        Date.now(),
      );
      const followup = await call('POST /messages', { to: { loginId }, message: { text: 'x' } });
      await sender(drainQueue(), lambdaContext('sender'));
      const form = `signed_request=${encodeURIComponent(signRequest({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: asid }, APP_SECRET))}`;

      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: form,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          host: 'abc.execute-api.eu-west-1.amazonaws.com',
        },
      });

      expect(response.status).toBe(200);
      expect(response.body.url).toBe(
        `https://abc.execute-api.eu-west-1.amazonaws.com/facebook/data-deletion/${response.body.confirmation_code}`,
      );
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toBeUndefined();
      expect((await people.identity({ kind: 'psid', id: psid })).ids).toHaveLength(1);
      expect(
        (await ctx.doc.send(new GetCommand({ TableName: ctx.tableName, Key: keys.profile(psid) })))
          .Item,
      ).toBeUndefined();
      expect(
        (
          await ctx.doc.send(
            new GetCommand({ TableName: ctx.tableName, Key: keys.outbound(followup.body.id) }),
          )
        ).Item,
      ).toBeUndefined();
      const status = await call('GET /facebook/data-deletion/{code}', undefined, {
        pathParameters: { code: response.body.confirmation_code },
      });
      expect(status.body).toMatchObject({
        confirmation_code: response.body.confirmation_code,
        status: 'completed',
      });
    });

    it('deletes a person who only ever opted in through the webhook, reached from their ASID alone', async () => {
      // Arrange: webhook opt-in (no login event, no ASID link), first message, a reply that links
      // the PSID, a follow-up with its receipt.
      const { asid, loginId } = await sentOptinByLogin();
      const psid = unique('9');
      await people.recordUserMessage(
        { psid, pageId: PAGE_ID, atMs: Date.now(), priorLoginId: loginId },
        Date.now(),
      );
      const followup = await call('POST /messages', { to: { loginId }, message: { text: 'x' } });
      await sender(drainQueue(), lambdaContext('sender'));
      expect(followup.status).toBe(202);
      const form = `signed_request=${encodeURIComponent(signRequest({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: asid }, APP_SECRET))}`;
      const deletedAt = Date.now();

      // Act
      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const status = await call('GET /facebook/data-deletion/{code}', undefined, {
        pathParameters: { code: response.body.confirmation_code },
      });
      // Work that predates the deletion comes up afterwards: a redelivered opt-in, a late reply.
      const redelivered = {
        v: 1,
        kind: 'optin',
        pageId: PAGE_ID,
        loginId,
        optinAt: deletedAt - 60_000,
        receivedAt: deletedAt - 60_000,
        source: 'webhook',
      };
      const lateReply = {
        v: 1,
        kind: 'event',
        eventType: 'message',
        channel: 'messaging',
        pageId: PAGE_ID,
        psid,
        timestamp: deletedAt - 30_000,
        receivedAt: deletedAt - 30_000,
        payload: {
          sender: { id: psid },
          message: { mid: 'm_late', text: 'hi' },
          prior_message: { source: 'fb_login', identifier: loginId },
        },
      };
      const sendsBefore = graph.calls.length;
      await sender(
        { Records: [sqsRecord(JSON.stringify(redelivered)), sqsRecord(JSON.stringify(lateReply))] },
        lambdaContext('sender'),
      );

      // Assert
      expect(response.status).toBe(200);
      expect(status.body).toMatchObject({
        status: 'completed',
        deleted: { optin: 1, lock: 1, message: 1, person: 1 },
      });
      expect(graph.calls.length).toBe(sendsBefore);
      const mentions = (await scanTable()).filter((item) =>
        [loginId, psid, asid].some((id) => JSON.stringify(item).includes(id)),
      );
      expect(mentions).toEqual([]);
    });

    it('removes, in a delayed second pass, what an attempt in flight wrote after the first', async () => {
      // Arrange: a person deleted while an attempt that claimed before the deletion was sending.
      const { asid, loginId } = await sentOptinByLogin();
      drainQueue();
      const form = `signed_request=${encodeURIComponent(signRequest({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: asid }, APP_SECRET))}`;
      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const entries = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((c) => c.args[0].input.Entries ?? []);
      const secondPass = drainQueue();
      // The attempt in flight records its send after the first pass read the partitions.
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...keys.lock(loginId), type: 'lock', loginId, pageId: PAGE_ID },
        }),
      );

      // Act
      await sender(secondPass, lambdaContext('sender'));
      const status = await call('GET /facebook/data-deletion/{code}', undefined, {
        pathParameters: { code: response.body.confirmation_code },
      });

      // Assert
      expect(entries).toHaveLength(1);
      expect(entries[0]?.DelaySeconds).toBeGreaterThanOrEqual(30);
      expect(JSON.parse(entries[0]?.MessageBody ?? '{}')).toMatchObject({ kind: 'erase' });
      expect((await scanTable()).filter((item) => JSON.stringify(item).includes(loginId))).toEqual(
        [],
      );
      expect(status.body).toMatchObject({ status: 'completed', deleted: { lock: 2 } });
    });

    it('says not_found, never completed, when nothing was stored about the person', async () => {
      const form = `signed_request=${encodeURIComponent(signRequest({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: unique('1') }, APP_SECRET))}`;

      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const status = await call('GET /facebook/data-deletion/{code}', undefined, {
        pathParameters: { code: response.body.confirmation_code },
      });

      expect(status.body).toMatchObject({ status: 'not_found', deleted: {} });
    });

    it('refuses a correctly signed request issued two hours ago (a replay) with 400 and deletes nothing', async () => {
      const asid = unique('1');
      const { loginId } = await sentOptin();
      await people.link({ kind: 'asid', id: asid }, { kind: 'login', id: loginId }, {}, Date.now());
      const replayed = signRequest(
        {
          algorithm: 'HMAC-SHA256',
          issued_at: Math.floor(Date.now() / 1000) - 7_200,
          user_id: asid,
        },
        APP_SECRET,
      );

      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: `signed_request=${encodeURIComponent(replayed)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

      expect(response).toMatchObject({ status: 400, body: { error: 'invalid_signed_request' } });
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toBeDefined();
    });

    it('refuses a bad signature with 400 and deletes nothing', async () => {
      const { loginId } = await sentOptin();
      await people.link(
        { kind: 'asid', id: 'A-bad' },
        { kind: 'login', id: loginId },
        {},
        Date.now(),
      );
      const forged = signRequest(
        { algorithm: 'HMAC-SHA256', user_id: 'A-bad' },
        'not-the-app-secret',
      );

      const response = await call('POST /facebook/data-deletion', undefined, {
        raw: `signed_request=${forged}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

      expect(response).toMatchObject({ status: 400, body: { error: 'invalid_signed_request' } });
      expect(await optinItem(ctx.doc, ctx.tableName, loginId)).toBeDefined();
    });
  });
});
