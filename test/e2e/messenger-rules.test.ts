import { randomBytes } from 'node:crypto';
import { callApi, replyAndLink, sendFirstMessage } from '../helpers/e2e-person';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * Follow-ups under Messenger's rules as they stand in 2026, on the running local stack (whose
 * Graph emulator enforces the same dated tag catalogue): retired tags refused before any Graph
 * call, HUMAN_AGENT only within 7 days of the person's last message (the stack runs with
 * HUMAN_AGENT_ENABLED=true), and nothing after the first message until the person writes.
 */
const DAY_MS = 86_400_000;
const stack = useLocalStack({ env: { HUMAN_AGENT_ENABLED: 'true' } });

const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  callApi(stack, method, path, body);

/** A person whose first message went out; with `wroteAgoMs`, who then wrote that long ago. */
async function person(wroteAgoMs?: number): Promise<{ loginId: string; psid: string }> {
  const loginId = randomBytes(16).toString('hex');
  const { psid } = await sendFirstMessage(stack, loginId);
  if (wroteAgoMs !== undefined) {
    await replyAndLink(stack, { loginId, psid, at: Date.now() - wroteAgoMs, text: 'Hello?' });
  }
  return { loginId, psid };
}

const sendsTo = async (psid: string) =>
  (await stack.emulator<unknown[]>(`messages?psid=${psid}`)).length;

describe("Messenger's 2026 rules for follow-ups, on the local stack", () => {
  it('refuses a retired tag with 400 naming the date, and makes no Graph call', async () => {
    const { loginId } = await person(2 * DAY_MS);
    const requests = (await stack.emulator<unknown[]>('requests')).length;

    const response = await api('POST', '/messages', {
      to: { loginId },
      message: { text: 'Your account changed.' },
      tag: 'ACCOUNT_UPDATE',
    });

    expect(response).toMatchObject({ status: 400, body: { error: 'tag_retired' } });
    expect(String(response.body.message)).toContain('2026-04-27');
    expect((await stack.emulator<unknown[]>('requests')).length).toBe(requests);
  });

  it('sends HUMAN_AGENT 2 days after the person wrote, and refuses it after 7 days', async () => {
    const recent = await person(2 * DAY_MS);
    const old = await person(8 * DAY_MS);

    const accepted = await api('POST', '/messages', {
      to: { loginId: recent.loginId },
      message: { text: 'Hi, this is Sam from support.' },
      tag: 'HUMAN_AGENT',
    });
    const refused = await api('POST', '/messages', {
      to: { loginId: old.loginId },
      message: { text: 'Hi, this is Sam from support.' },
      tag: 'HUMAN_AGENT',
    });
    const status = await eventually(
      async () => {
        const found = await api('GET', `/messages/${accepted.body.id}`);
        return found.body.status === 'sent' ? found : undefined;
      },
      15_000,
      'the HUMAN_AGENT message',
    );

    expect(accepted.status).toBe(202);
    expect(status.body).toMatchObject({ messagingType: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' });
    expect(await sendsTo(recent.psid)).toBe(1);
    expect(refused).toMatchObject({ status: 409, body: { error: 'outside_tag_window' } });
    expect(await sendsTo(old.psid)).toBe(0);
  });

  it('refuses an untagged follow-up to a login_id whose person never wrote', async () => {
    const { loginId } = await person();

    const response = await api('POST', '/messages', {
      to: { loginId },
      message: { text: 'One more thing…' },
    });

    expect(response).toMatchObject({ status: 409, body: { error: 'conversation_not_started' } });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toHaveLength(1);
  });
});
