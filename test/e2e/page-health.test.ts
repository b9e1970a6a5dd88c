import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { keys } from '../../shared/store/table-definition';
import { tableItem } from '../helpers/e2e-person';
import {
  OTHER_PAGE_ID,
  OTHER_PAGE_TOKEN,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../helpers/factories';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * A Page's own failures on the running local stack: Meta restricting the Page (10/1893063) and
 * Graph refusing its token (190) pause that Page; its opt-ins wait `pending` (never `failed`),
 * the other Page keeps sending, and once the restriction is lifted or a new token is in the
 * secret file, each waiting opt-in is sent exactly once. Short back-offs through the stack's
 * environment; the secret file is read through a 1 s cache by the sender and the emulator alike.
 */
interface EmulatedRequest {
  recipient?: { login_id?: string };
  pageId?: string;
  status: number;
  outcome: string;
  error?: { code: number; error_subcode?: number };
}

const stack = useLocalStack({
  env: {
    SEND_RETRY_BASE_SECONDS: '1',
    PAGE_BACKOFF_BASE_SECONDS: '2',
    PAGE_BACKOFF_MAX_SECONDS: '4',
    PAGE_STATE_CACHE_SECONDS: '1',
    // The watchdog is the other file's business.
    PAGE_WATCH_INTERVAL_SECONDS: '3600',
  },
});

const newLoginId = () => randomBytes(32).toString('hex');
const webhook = (pageId: string, loginIds: string[]) =>
  JSON.stringify({
    object: 'page',
    entry: [
      {
        id: pageId,
        time: Date.now(),
        messaging: loginIds.map((loginId) => ({
          recipient: { id: pageId },
          timestamp: Date.now(),
          optin: { login_id: loginId },
        })),
      },
    ],
  });

/** Registers the opt-ins with the emulator (as Facebook knows them) and posts their webhook. */
async function optIn(pageId: string, count: number): Promise<string[]> {
  const loginIds = Array.from({ length: count }, newLoginId);
  for (const loginId of loginIds)
    await stack.emulator('optins', { loginId, pageId, timestamp: Date.now() });
  const response = await stack.postWebhook(webhook(pageId, loginIds));
  if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
  return loginIds;
}

const pageState = (pageId: string) => tableItem(stack, keys.pageState(pageId));

const statuses = async (loginIds: string[]) =>
  Promise.all(loginIds.map(async (id) => (await stack.optinRecord(id))?.status));
const allSent = (loginIds: string[], timeoutMs = 20_000) =>
  eventually(
    async () => ((await statuses(loginIds)).every((s) => s === 'sent') ? true : undefined),
    timeoutMs,
    'every waiting opt-in to be sent',
  );
async function requestsTo(loginIds: string[]) {
  const all = await stack.emulator<EmulatedRequest[]>('requests');
  return all.filter((r) => loginIds.includes(r.recipient?.login_id ?? ''));
}
async function messagesTo(loginId: string) {
  return stack.emulator<unknown[]>(`messages?loginId=${loginId}`);
}
async function control(method: 'DELETE', path: string) {
  const response = await fetch(`${stack.info.graphEmulatorUrl}/_emulator/${path}`, { method });
  if (!response.ok) throw new Error(`emulator ${path}: ${response.status}`);
}

describe("a Page's own failures, on the local stack", () => {
  it('pauses a restricted Page without failing its opt-ins, keeps the other Page sending, and sends each waiting opt-in once when the restriction is lifted', async () => {
    await stack.emulator('restrictions', { pageId: PAGE_ID });
    const waiting = await optIn(PAGE_ID, 3);

    const paused = await eventually(
      async () => {
        const state = await pageState(PAGE_ID);
        const now = await statuses(waiting);
        return state?.pausedReason === 'page_restricted' && now.every((s) => s === 'pending')
          ? state
          : undefined;
      },
      15_000,
      'the Page to pause with its opt-ins pending',
    );
    // Another Page is not held up by this one.
    const [elsewhere = ''] = await optIn(OTHER_PAGE_ID, 1);
    await allSent([elsewhere]);
    // A few back-offs pass: probes only, one at a time, and nothing fails or goes out.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const refused = await requestsTo(waiting);
    expect(await statuses(waiting)).toEqual(['pending', 'pending', 'pending']);

    await control('DELETE', `restrictions?pageId=${PAGE_ID}`);
    await allSent(waiting);

    expect(paused).toMatchObject({
      pk: 'PAGES',
      sk: `PAGE#${PAGE_ID}`,
      pausedReason: 'page_restricted',
      lastError: { code: 10, subcode: 1893063 },
    });
    expect(refused.length).toBeGreaterThanOrEqual(1);
    // The first send, then one probe per back-off (2 s, 4 s): never one per waiting opt-in.
    expect(refused.length).toBeLessThanOrEqual(4);
    for (const request of refused) {
      expect(request).toMatchObject({ status: 400, error: { code: 10, error_subcode: 1893063 } });
    }
    for (const loginId of waiting) expect(await messagesTo(loginId)).toHaveLength(1);
    const resumed = await pageState(PAGE_ID);
    expect(resumed?.pausedReason).toBeUndefined();
    expect(resumed).toMatchObject({ lastPausedReason: 'page_restricted' });
    expect(typeof resumed?.resumedAt).toBe('string');
    expect(stack.output()).toContain('PAGE RESTRICTED');
    // Logged by the sender's process: it reaches this test's pipe a moment later.
    await eventually(
      async () => (stack.output().includes('Page resumed') ? true : undefined),
      5000,
      'the resumption to be logged',
    );
  }, 45_000);

  it('keeps the opt-ins of a Page whose token Graph refuses (190) pending, not failed, and sends them once the secret holds a new token', async () => {
    await stack.emulator('revoked-tokens', { pageId: OTHER_PAGE_ID });
    const waiting = await optIn(OTHER_PAGE_ID, 3);

    await eventually(
      async () => {
        const state = await pageState(OTHER_PAGE_ID);
        const now = await statuses(waiting);
        return state?.pausedReason === 'token_invalid' && now.every((s) => s === 'pending')
          ? true
          : undefined;
      },
      15_000,
      'the Page to pause with its opt-ins pending',
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await statuses(waiting)).toEqual(['pending', 'pending', 'pending']);
    const stored = JSON.stringify(await pageState(OTHER_PAGE_ID));
    expect(stored).not.toContain(OTHER_PAGE_TOKEN);

    // The operator puts a new token in the secret; the emulator accepts it (it was not revoked).
    const newToken = `EAAB-renewed-${randomBytes(8).toString('hex')}`;
    writeFileSync(
      stack.info.secretsFile,
      JSON.stringify(
        secretDocument({
          pages: {
            [PAGE_ID]: { accessToken: PAGE_TOKEN },
            [OTHER_PAGE_ID]: { accessToken: newToken },
          },
        }),
      ),
    );
    await allSent(waiting);

    for (const loginId of waiting) {
      const record = await stack.optinRecord(loginId);
      expect(record?.statusReason).toBeUndefined();
      expect(await messagesTo(loginId)).toHaveLength(1);
    }
    const refused = await requestsTo(waiting);
    expect(refused.filter((r) => r.outcome === 'refused').length).toBeGreaterThanOrEqual(1);
    expect(refused.filter((r) => r.status === 400).every((r) => r.error?.code === 190)).toBe(true);
    expect((await pageState(OTHER_PAGE_ID))?.pausedReason).toBeUndefined();
    expect(stack.output()).toContain('PAGE TOKEN INVALID');
    expect(stack.output()).not.toContain(newToken);
  }, 45_000);
});
