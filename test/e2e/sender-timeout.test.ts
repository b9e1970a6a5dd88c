import { randomBytes } from 'node:crypto';
import type { RecordedRequest } from '../../infra/local/graph-emulator';
import { optinWithStatus } from '../helpers/e2e-person';
import { PAGE_ID } from '../helpers/factories';
import { useLocalStack } from '../helpers/local-stack';

/**
 * The local event source times a sender invocation out as Lambda does. Here the Graph timeout is
 * longer than the sender's on purpose, so a slow Send API call outlives its invocation: the
 * instance is stopped mid-call, nothing of its batch is deleted, and the message comes back after
 * the visibility timeout (6 × the sender timeout) to a fresh instance, which sends it once.
 */
const stack = useLocalStack({
  env: { SENDER_TIMEOUT_SECONDS: '3', GRAPH_TIMEOUT_SECONDS: '8' },
});

describe('a sender invocation that runs past its timeout', () => {
  it('is stopped mid-call, and its message comes back after visibility and is sent once', async () => {
    const loginId = randomBytes(32).toString('hex');
    await stack.emulator('optins', { loginId, pageId: PAGE_ID });
    await stack.emulator('faults', { loginId, kind: 'slow', delayMs: 6000 });
    const timestamp = Date.now();
    const posted = Date.now();

    const response = await stack.postWebhook(
      JSON.stringify({
        object: 'page',
        entry: [
          {
            id: PAGE_ID,
            time: timestamp,
            messaging: [{ recipient: { id: PAGE_ID }, timestamp, optin: { login_id: loginId } }],
          },
        ],
      }),
    );
    const record = await optinWithStatus(stack, loginId, 'sent', 40_000);
    const sentAfterMs = Date.now() - posted;
    const calls = (await stack.emulator<RecordedRequest[]>('requests')).filter(
      (r) => r.recipient?.login_id === loginId,
    );

    expect(response.status).toBe(200);
    expect(stack.output()).toMatch(/a sender invocation timed out after 3000 ms/);
    // The first call was cut off with its instance (not delivered), the second was sent.
    expect(calls.map((c) => c.outcome)).toEqual(['aborted', 'accepted']);
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toHaveLength(1);
    expect(record).toMatchObject({ status: 'sent', attempts: 2 });
    // Back only after the visibility timeout (18 s), not at once.
    expect(sentAfterMs).toBeGreaterThanOrEqual(17_000);
  }, 60_000);
});
