import type { SubscribedApp, SubscribedAppsClient } from '../../../shared/graph/ports';
import { REQUIRED_PAGE_FIELDS } from '../../../shared/graph/subscribed-apps';
import type { PageState, SubscriptionCheck } from '../../../shared/login-connect/page-state';
import {
  checkSubscription,
  latestActivity,
  type PageWatchDeps,
  reportWatch,
  watchPages,
} from '../../../shared/login-connect/page-watch';
import type { SendFailure } from '../../../shared/login-connect/send-errors';
import { parseAppSecrets } from '../../../shared/secrets';
import type { PageStateStore } from '../../../shared/store/page-store';
import {
  APP_SECRET,
  OTHER_PAGE_ID,
  OTHER_PAGE_TOKEN,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../../helpers/factories';

const NOW = Date.parse('2026-11-21T09:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ALL = [...REQUIRED_PAGE_FIELDS];

/** A Graph that answers each Page's subscription from a table, and records the calls. */
function fakeGraph(
  pages: Record<string, { apps?: SubscribedApp[]; list?: SendFailure; subscribe?: SendFailure }>,
) {
  const calls: string[] = [];
  const client: SubscribedAppsClient = {
    async list(pageId, token) {
      calls.push(`list ${pageId} ${token}`);
      const page = pages[pageId] ?? {};
      if (page.list) return { ok: false, failure: page.list };
      return { ok: true, apps: page.apps ?? [{ id: 'app', fields: ALL }] };
    },
    async subscribe(pageId, fields, token) {
      calls.push(`subscribe ${pageId} ${fields.join(',')} ${token}`);
      const page = pages[pageId] ?? {};
      if (page.subscribe) return { ok: false, failure: page.subscribe };
      return { ok: true };
    },
  };
  return { client, calls };
}

class FakeStates implements Partial<PageStateStore> {
  constructor(readonly states: PageState[] = []) {}
  recorded: Array<{ pageId: string; seen: Record<string, unknown> }> = [];
  async list() {
    return this.states;
  }
  async recordWatch(pageId: string, seen: Record<string, unknown>) {
    this.recorded.push({ pageId, seen });
  }
}

async function* pagesOf(...pages: Record<string, unknown>[][]) {
  for (const page of pages) yield page;
}

function deps(overrides: Partial<PageWatchDeps> & { states?: FakeStates } = {}) {
  const states = overrides.states ?? new FakeStates();
  return {
    states,
    deps: {
      pages: states as unknown as PageStateStore,
      secrets: async () => parseAppSecrets(secretDocument(), 'test'),
      subscriptions: fakeGraph({}).client,
      recentOptins: () => pagesOf(),
      now: () => NOW,
      ...overrides,
    } satisfies PageWatchDeps,
  };
}
const OPTIONS = { lookbackMs: 40 * 60_000, silenceMs: 24 * HOUR };

describe('login-connect/page-watch', () => {
  describe('checkSubscription()', () => {
    it('is ok when the app is subscribed with every field we need, and subscribes nothing', async () => {
      const graph = fakeGraph({ [PAGE_ID]: { apps: [{ fields: [...ALL, 'feed'] }] } });

      const check = await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, graph.client, NOW);

      expect(check).toEqual({ checkedAt: NOW, status: 'ok', fields: [...ALL, 'feed'].sort() });
      expect(graph.calls).toEqual([`list ${PAGE_ID} ${PAGE_TOKEN}`]);
    });

    it('subscribes again with every field it had and every field we need', async () => {
      const graph = fakeGraph({ [PAGE_ID]: { apps: [{ fields: ['feed', 'messages'] }] } });

      const check = await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, graph.client, NOW);

      const wanted = [...ALL, 'feed'].sort();
      expect(check).toEqual({
        checkedAt: NOW,
        status: 'resubscribed',
        fields: wanted,
        missingFields: [
          'messaging_optins',
          'messaging_postbacks',
          'message_deliveries',
          'message_reads',
        ],
      });
      expect(graph.calls[1]).toBe(`subscribe ${PAGE_ID} ${wanted.join(',')} ${PAGE_TOKEN}`);
    });

    it('subscribes a Page Facebook unsubscribed the app from', async () => {
      const graph = fakeGraph({ [PAGE_ID]: { apps: [] } });

      const check = await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, graph.client, NOW);

      expect(check).toMatchObject({ status: 'resubscribed', missingFields: ALL });
    });

    it('reports the subscription missing when the token may not subscribe it', async () => {
      const refusal = { httpStatus: 403, code: 200, message: '(#200) Permissions error' };
      const graph = fakeGraph({ [PAGE_ID]: { apps: [], subscribe: refusal } });

      const check = await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, graph.client, NOW);

      expect(check).toEqual({
        checkedAt: NOW,
        status: 'missing',
        fields: [],
        missingFields: ALL,
        error: refusal,
      });
    });

    it('reports a check that Graph did not answer, or that threw, without subscribing', async () => {
      const graph = fakeGraph({
        [PAGE_ID]: { list: { network: 'timeout', message: 'no answer' } },
      });
      const throwing: SubscribedAppsClient = {
        list: async () => {
          throw new Error('boom');
        },
        subscribe: async () => ({ ok: true }),
      };

      expect(await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, graph.client, NOW)).toEqual({
        checkedAt: NOW,
        status: 'check_failed',
        error: { message: 'no answer' },
      });
      expect(await checkSubscription(PAGE_ID, PAGE_TOKEN, APP_SECRET, throwing, NOW)).toMatchObject(
        { status: 'check_failed', error: { message: 'Error: boom' } },
      );
      expect(graph.calls).toHaveLength(1);
    });
  });

  describe('latestActivity()', () => {
    it('takes the newest opt-in received and the newest first message sent, per Page', async () => {
      const activity = await latestActivity(
        pagesOf(
          [
            { pageId: PAGE_ID, receivedAt: iso(NOW - 50), status: 'sent', sentAt: iso(NOW - 40) },
            { pageId: PAGE_ID, receivedAt: iso(NOW - 30), status: 'pending' },
          ],
          [
            { pageId: PAGE_ID, receivedAt: iso(NOW - 90), status: 'sent', sentAt: iso(NOW - 10) },
            { pageId: OTHER_PAGE_ID, type: 'rejected_optin', receivedAt: iso(NOW - 5) },
            { pageId: OTHER_PAGE_ID, optinAt: iso(NOW - 1), status: 'expired' },
            { type: 'rejected_optin', receivedAt: iso(NOW) },
            { pageId: PAGE_ID, receivedAt: 'not a time', sentAt: iso(NOW), status: 'failed' },
          ],
        ),
      );

      expect(Object.fromEntries(activity)).toEqual({
        [PAGE_ID]: { lastOptinAt: NOW - 30, lastSendAt: NOW - 10 },
        [OTHER_PAGE_ID]: { lastOptinAt: NOW - 1 },
      });
    });
  });

  describe('watchPages()', () => {
    it('checks each Page of the secret with its own token and records what it saw', async () => {
      const graph = fakeGraph({ [OTHER_PAGE_ID]: { apps: [] } });
      const { deps: d, states } = deps({
        subscriptions: graph.client,
        states: new FakeStates([
          { pageId: PAGE_ID, lastOptinAt: NOW - HOUR, lastSendAt: NOW - HOUR },
        ]),
        recentOptins: (since, until) => {
          expect([since, until]).toEqual([NOW - OPTIONS.lookbackMs, NOW]);
          return pagesOf([
            {
              pageId: PAGE_ID,
              receivedAt: iso(NOW - 60_000),
              status: 'sent',
              sentAt: iso(NOW - 59_000),
            },
          ]);
        },
      });

      const result = await watchPages(d, OPTIONS);

      expect(graph.calls).toEqual([
        `list ${PAGE_ID} ${PAGE_TOKEN}`,
        `list ${OTHER_PAGE_ID} ${OTHER_PAGE_TOKEN}`,
        `subscribe ${OTHER_PAGE_ID} ${[...ALL].sort().join(',')} ${OTHER_PAGE_TOKEN}`,
      ]);
      expect(states.recorded).toEqual([
        {
          pageId: PAGE_ID,
          seen: {
            lastOptinAt: NOW - 60_000,
            lastSendAt: NOW - 59_000,
            subscription: expect.objectContaining({ status: 'ok' }),
          },
        },
        {
          pageId: OTHER_PAGE_ID,
          seen: { subscription: expect.objectContaining({ status: 'resubscribed' }) },
        },
      ]);
      expect(result.pages).toEqual([
        {
          pageId: PAGE_ID,
          configured: true,
          subscription: expect.objectContaining({ status: 'ok' }),
          lastOptinAt: NOW - 60_000,
          lastSendAt: NOW - 59_000,
        },
        {
          pageId: OTHER_PAGE_ID,
          configured: true,
          subscription: expect.objectContaining({ status: 'resubscribed' }),
        },
      ]);
    });

    it('never moves the last opt-in back, and reports a Page silent for longer than the limit', async () => {
      const { deps: d, states } = deps({
        states: new FakeStates([
          { pageId: PAGE_ID, lastOptinAt: NOW - 25 * HOUR },
          { pageId: OTHER_PAGE_ID, lastOptinAt: NOW - 23 * HOUR },
        ]),
        recentOptins: () => pagesOf([{ pageId: PAGE_ID, receivedAt: iso(NOW - 30 * HOUR) }]),
      });

      const result = await watchPages(d, OPTIONS);

      expect(states.recorded[0]?.seen.lastOptinAt).toBeUndefined();
      expect(result.pages.map((p) => [p.pageId, p.silentForMs])).toEqual([
        [PAGE_ID, 25 * HOUR],
        [OTHER_PAGE_ID, undefined],
      ]);
    });

    it('does not call a Page that never received an opt-in silent', async () => {
      const { deps: d } = deps();

      const result = await watchPages(d, OPTIONS);

      expect(result.pages.every((p) => p.silentForMs === undefined)).toBe(true);
    });

    it('reports the paused Pages, and Pages that left the secret without checking them', async () => {
      const graph = fakeGraph({});
      const { deps: d } = deps({
        subscriptions: graph.client,
        states: new FakeStates([
          { pageId: PAGE_ID, pausedReason: 'page_restricted', pausedSince: NOW - HOUR },
          { pageId: '9999999999', pausedReason: 'token_invalid', lastOptinAt: NOW - 48 * HOUR },
        ]),
      });

      const result = await watchPages(d, OPTIONS);

      expect(result.pages).toContainEqual(
        expect.objectContaining({
          pageId: PAGE_ID,
          configured: true,
          pausedReason: 'page_restricted',
          pausedSince: NOW - HOUR,
        }),
      );
      expect(result.pages).toContainEqual({
        pageId: '9999999999',
        configured: false,
        pausedReason: 'token_invalid',
        lastOptinAt: NOW - 48 * HOUR,
      });
      expect(graph.calls.some((c) => c.includes('9999999999'))).toBe(false);
    });
  });

  describe('reportWatch()', () => {
    const check = (status: SubscriptionCheck['status'], error?: SubscriptionCheck['error']) => ({
      checkedAt: NOW,
      status,
      ...(error ? { error } : {}),
    });

    it('alarms on what needs an operator, counts every figure (zeros included) and logs it', () => {
      const lines: Array<[string, string, Record<string, unknown>]> = [];
      const counts: Array<[string, number | undefined]> = [];
      const log =
        (level: string) =>
        (message: string, extra: Record<string, unknown> = {}) =>
          lines.push([level, message, extra]);

      const summary = reportWatch(
        {
          checkedAt: NOW,
          pages: [
            { pageId: '1', configured: true, subscription: check('ok') },
            { pageId: '2', configured: true, subscription: check('resubscribed') },
            { pageId: '3', configured: true, subscription: check('missing') },
            {
              pageId: '4',
              configured: true,
              subscription: check('check_failed', { code: 190, message: 'bad' }),
            },
            {
              pageId: '5',
              configured: true,
              subscription: check('check_failed', { message: 'timeout' }),
            },
            { pageId: '6', configured: true, silentForMs: 30 * HOUR, lastOptinAt: NOW - 30 * HOUR },
            { pageId: '7', configured: false, pausedReason: 'page_restricted', pausedSince: NOW },
          ],
        },
        {
          log: { info: log('info'), warn: log('warn'), error: log('error') },
          metrics: { count: (name, value) => counts.push([name, value]) },
        },
      );

      expect(summary).toEqual({
        pages: 7,
        resubscribed: 1,
        subscriptionMissing: 1,
        checkFailed: 2,
        silent: 1,
        paused: 1,
      });
      expect(counts).toEqual([
        ['PageTokenInvalid', undefined],
        ['PageResubscribed', 1],
        ['PageSubscriptionMissing', 1],
        ['PageSubscriptionCheckFailed', 2],
        ['PageOptinsSilent', 1],
        ['PagesPaused', 1],
      ]);
      expect(
        lines.map(([level, message, extra]) => [level, message.split(':')[0], extra.pageId]),
      ).toEqual([
        ['warn', 'Page was not subscribed to every webhook field we need', '2'],
        ['error', 'PAGE NOT SUBSCRIBED', '3'],
        ['error', 'PAGE TOKEN INVALID', '4'],
        ['warn', "the Page's subscription could not be checked", '5'],
        ['error', 'NO OPT-INS FROM PAGE', '6'],
        ['warn', 'Page is paused', '7'],
      ]);
      expect(lines[4]?.[2]).toMatchObject({
        silentForHours: 30,
        lastOptinAt: iso(NOW - 30 * HOUR),
      });
    });

    it('sends the gauges as zeros when all is well, so the alarms see data', () => {
      const counts: Array<[string, number | undefined]> = [];

      reportWatch(
        { checkedAt: NOW, pages: [{ pageId: '1', configured: true, subscription: check('ok') }] },
        {
          log: { info: () => {}, warn: () => {}, error: () => {} },
          metrics: { count: (name, value) => counts.push([name, value]) },
        },
      );

      expect(counts.every(([, value]) => value === 0)).toBe(true);
      expect(counts.map(([name]) => name)).toContain('PagesPaused');
    });
  });
});
