import { randomBytes } from 'node:crypto';
import { REQUIRED_PAGE_FIELDS } from '../../shared/graph/subscribed-apps';
import { keys } from '../../shared/store/table-definition';
import { optinItem, optinWithStatus, pageWebhook, tableItem } from '../helpers/e2e-person';
import { OTHER_PAGE_ID, OTHER_PAGE_TOKEN, PAGE_ID, PAGE_TOKEN } from '../helpers/factories';
import { runLcm } from '../helpers/lcm-cli';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * The Page watchdog on the running local stack (every second here, PAGE_WATCH_INTERVAL_SECONDS):
 * Facebook drops the app's subscription to two Pages; the watchdog subscribes one again with its
 * token, and raises the alarm (log line, `PageSubscriptionMissing`) for the one whose token may
 * not; a Page that received an opt-in and then none for PAGE_OPTIN_SILENCE_SECONDS is reported;
 * `lcm pages` shows it all. Tokens travel in headers and bodies, never in a URL.
 */
const SILENCE_SECONDS = 4;

interface EmulatedRequest {
  method: string;
  path: string;
  pageId?: string;
  tokenIn?: string;
  status: number;
}
interface EmulatorState {
  subscriptions: Array<{ pageId: string; fields: string[]; refuseSubscribe: boolean }>;
}

const stack = useLocalStack({
  env: {
    PAGE_WATCH_INTERVAL_SECONDS: '1',
    PAGE_OPTIN_SILENCE_SECONDS: String(SILENCE_SECONDS),
  },
});

const pageState = (pageId: string) => tableItem(stack, keys.pageState(pageId));

/** Waits for a log line of the stack that says `text` about `pageId`. */
const logLine = (text: string, pageId: string, from = 0, timeoutMs = 5000) =>
  eventually(
    async () =>
      stack
        .output()
        .slice(from)
        .split('\n')
        .some((line) => line.includes(text) && line.includes(`"pageId":"${pageId}"`))
        ? true
        : undefined,
    timeoutMs,
    `a log line "${text}" about Page ${pageId}`,
  );

/** The real CLI, as `npx lcm pages --local` runs it, against this test's stack. */
const lcm = (...args: string[]) => runLcm(stack, ...args);

describe('the Page watchdog, on the local stack', () => {
  it('subscribes again a Page Facebook unsubscribed, and alarms on one whose token may not', async () => {
    await stack.emulator('subscriptions/drop', { pageId: PAGE_ID });
    await stack.emulator('subscriptions/drop', { pageId: OTHER_PAGE_ID, refuseSubscribe: true });

    const restored = await eventually(
      async () => {
        const state = await stack.emulator<EmulatorState>('state');
        const page = state.subscriptions.find((s) => s.pageId === PAGE_ID);
        return page && page.fields.length > 0 ? page : undefined;
      },
      15_000,
      'the watchdog to subscribe the Page again',
    );
    const missing = await eventually(
      async () => {
        const state = await pageState(OTHER_PAGE_ID);
        return state?.subscription?.status === 'missing' ? state : undefined;
      },
      10_000,
      'the watchdog to find the other Page unsubscribed',
    );
    const fixed = await eventually(
      async () => {
        const state = await pageState(PAGE_ID);
        return ['resubscribed', 'ok'].includes(state?.subscription?.status) ? state : undefined;
      },
      10_000,
      "the watchdog's record of the Page",
    );

    expect([...restored.fields].sort()).toEqual([...REQUIRED_PAGE_FIELDS].sort());
    expect(fixed.subscription.fields).toEqual(expect.arrayContaining([...REQUIRED_PAGE_FIELDS]));
    expect(missing).toMatchObject({
      pk: 'PAGES',
      sk: `PAGE#${OTHER_PAGE_ID}`,
      subscription: {
        status: 'missing',
        missingFields: expect.arrayContaining(['messaging_optins']),
        error: { code: 200, httpStatus: 403 },
      },
    });
    // The run logs once it has checked every Page, after writing their states: wait for it.
    await logLine('subscribed again', PAGE_ID);
    await logLine('PAGE NOT SUBSCRIBED', OTHER_PAGE_ID);
    const output = stack.output();
    // The Page token went in a header (GET) or the body (POST), never in a URL.
    const calls = (await stack.emulator<EmulatedRequest[]>('requests')).filter((r) =>
      r.path.endsWith('/subscribed_apps'),
    );
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) {
      expect(call.tokenIn).toBe(call.method === 'GET' ? 'header' : 'body');
      expect(call.path).not.toContain(PAGE_TOKEN);
      expect(call.path).not.toContain(OTHER_PAGE_TOKEN);
    }
    expect(output).not.toContain(PAGE_TOKEN);
    expect(output).not.toContain(OTHER_PAGE_TOKEN);
  }, 40_000);

  it('reports a Page that received opt-ins and then none for longer than the limit', async () => {
    const loginId = randomBytes(32).toString('hex');
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
    const answer = await stack.postWebhook(pageWebhook([optinItem(loginId)]));
    expect(answer.status).toBe(200);
    await optinWithStatus(stack, loginId, 'sent');
    const seen = await eventually(
      async () => {
        const state = await pageState(PAGE_ID);
        return state?.lastOptinAt && state.lastSendAt ? state : undefined;
      },
      10_000,
      'the watchdog to see the opt-in and its send',
    );
    const logsFrom = stack.output().length;

    await logLine('NO OPT-INS FROM PAGE', PAGE_ID, logsFrom, (SILENCE_SECONDS + 6) * 1000);

    const record = await stack.optinRecord(loginId);
    expect(seen.lastOptinAt).toBe(record?.receivedAt);
    expect(seen.lastSendAt).toBe(record?.sentAt);
    // The other Page never received an opt-in: it is not "silent".
    expect(
      stack
        .output()
        .split('\n')
        .some((line) => line.includes('NO OPT-INS FROM PAGE') && line.includes(OTHER_PAGE_ID)),
    ).toBe(false);
  }, 40_000);

  it('shows each Page with lcm pages', async () => {
    const json = await lcm('pages', '--json');
    const human = await lcm('pages');

    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as {
      pages: Array<{ pageId: string; state: string; subscription?: { status: string } }>;
    };
    expect(view.pages.map((p) => p.pageId).sort()).toEqual([PAGE_ID, OTHER_PAGE_ID].sort());
    expect(view.pages.find((p) => p.pageId === OTHER_PAGE_ID)).toMatchObject({
      state: 'sending',
      configured: true,
      subscription: { status: 'missing' },
    });
    expect(view.pages.find((p) => p.pageId === PAGE_ID)).toMatchObject({
      state: 'sending',
      lastOptinAt: expect.any(String),
      lastSendAt: expect.any(String),
      subscription: { status: 'ok' },
    });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Page\s+state\s+reason/);
    expect(human.stdout).toContain('MISSING messaging_optins');
    expect(human.stdout).not.toContain(PAGE_TOKEN);
  }, 20_000);
});
