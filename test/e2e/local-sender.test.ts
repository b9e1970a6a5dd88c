import { randomBytes } from 'node:crypto';
import { optinItem, pageWebhook } from '../helpers/e2e-person';
import { PAGE_ID } from '../helpers/factories';
import { eventually, type LocalStackHandle, useLocalStack } from '../helpers/local-stack';

/**
 * The local sender's event source against the real queue and sender (see "The local sender" in
 * the README): batches run side by side, and a batching window gathers messages into one batch.
 * The rules themselves are tested in `test/unit/local/sqs-event-source.test.ts`.
 */
interface Message {
  recipient: { login_id?: string };
  at: string;
}

/** One webhook carrying an opt-in for each login_id, all at the same timestamp. */
function optinBody(loginIds: string[]): string {
  const timestamp = Date.now();
  return pageWebhook(loginIds.map((id) => optinItem(id, timestamp)));
}

async function newOptins(stack: LocalStackHandle, count: number): Promise<string[]> {
  const loginIds = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  for (const loginId of loginIds) await stack.emulator('optins', { loginId, pageId: PAGE_ID });
  return loginIds;
}

/** When Graph accepted each of these opt-ins' message, once every one has one. */
async function sentTimes(stack: LocalStackHandle, loginIds: string[]): Promise<number[]> {
  const wanted = new Set(loginIds);
  const sent = await eventually(
    async () => {
      const messages = (await stack.emulator<Message[]>('messages')).filter((m) =>
        wanted.has(m.recipient.login_id ?? ''),
      );
      return messages.length >= loginIds.length ? messages : undefined;
    },
    60_000,
    'every opt-in to be sent',
  );
  expect(sent).toHaveLength(loginIds.length);
  return sent.map((m) => Date.parse(m.at)).sort((a, b) => a - b);
}

describe('the local sender with the default settings (5 concurrent batches)', () => {
  const stack = useLocalStack();

  it('runs several batches at once: more Graph calls overlap than one batch holds', async () => {
    // Arrange: every Send API call answers after 4 s.
    const delayMs = 4000;
    const loginIds = await newOptins(stack, 40);
    await stack.emulator('flaky', { rate: 1, faults: [{ delayMs }] });

    // Act: 4 webhooks of 10 opt-ins at once, so at least 4 batches of at most 10.
    const responses = await Promise.all(
      [0, 10, 20, 30].map((i) => stack.postWebhook(optinBody(loginIds.slice(i, i + 10)))),
    );
    const times = await sentTimes(stack, loginIds);
    await fetch(`${stack.info.graphEmulatorUrl}/_emulator/flaky`, { method: 'DELETE' });

    // Assert: a call accepted at `at` was under way from `at - delayMs`. One batch at a time
    // would keep at most 10 calls (one batch) under way at once.
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const overlap = Math.max(
      ...times.map((end) => times.filter((t) => t - delayMs < end && end <= t).length),
    );
    expect(overlap).toBeGreaterThan(10);
  }, 90_000);
});

describe('the local sender with a batching window (SENDER_BATCH_WINDOW_SECONDS=3)', () => {
  // One poller: each poller gathers its own batch, so with several, messages arriving apart
  // could each start a window of their own in another poller.
  const stack = useLocalStack({
    env: { SENDER_BATCH_WINDOW_SECONDS: '3', SENDER_CONCURRENCY: '1' },
  });

  it('gathers opt-ins that arrive within the window and sends them together when it ends', async () => {
    // Arrange
    const loginIds = await newOptins(stack, 3);

    // Act: one opt-in per webhook, 500 ms apart.
    const posted = Date.now();
    for (const loginId of loginIds) {
      expect((await stack.postWebhook(optinBody([loginId]))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const times = await sentTimes(stack, loginIds);

    // Assert: nothing before the window ends (3 s after the first), then all three at once.
    expect((times[0] ?? 0) - posted).toBeGreaterThanOrEqual(2900);
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeLessThan(1000);
  }, 60_000);
});
