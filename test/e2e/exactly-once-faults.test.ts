import { randomBytes } from 'node:crypto';
import type { FaultRule } from '../../infra/local/wire-proxy';
import { optinItem, pageWebhook } from '../helpers/e2e-person';
import { PAGE_ID } from '../helpers/factories';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * Exactly once on the running local stack when DynamoDB fails between Graph's answer and the
 * record, and when the sender dies there: a proxy between the handlers and DynamoDB Local fails
 * the record-the-send transaction; the sender process is SIGKILLed while it waits on it. The
 * stack runs with `SEND_UNKNOWN_OUTCOME=hold` (at most once).
 */
const stack = useLocalStack({
  env: {
    LCM_WIRE_PROXY: 'true',
    SEND_UNKNOWN_OUTCOME: 'hold',
    SEND_RETRY_BASE_SECONDS: '1',
    SENDER_TIMEOUT_SECONDS: '2',
    GRAPH_TIMEOUT_SECONDS: '1',
  },
});

interface EmulatedRequest {
  recipient?: { login_id?: string };
  status: number;
}

const newLoginId = () => randomBytes(32).toString('hex');
const optinBody = (loginId: string) => pageWebhook([optinItem(loginId)]);
async function sendsTo(loginId: string) {
  const all = await stack.emulator<EmulatedRequest[]>('requests');
  return all.filter((r) => r.recipient?.login_id === loginId);
}
async function faults(rules: FaultRule[]) {
  const response = await fetch(`${stack.info.dynamodbProxyUrl}/_faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules }),
  });
  expect(response.status).toBe(200);
}
/** The transaction that records a first message is the one that sets `sentBy`. */
const failRecord = (loginId: string, fault: FaultRule['fault']): FaultRule => ({
  operation: 'TransactWriteItems',
  contains: [loginId, 'sentBy'],
  fault,
  times: 1_000_000,
});
async function optIn(loginId: string) {
  await stack.emulator('optins', { loginId, pageId: PAGE_ID });
  const response = await stack.postWebhook(optinBody(loginId));
  expect(response.status).toBe(200);
}
const statusOf = (loginId: string, status: string, timeoutMs = 30_000) =>
  eventually(
    async () => {
      const record = await stack.optinRecord(loginId);
      return record?.status === status ? record : undefined;
    },
    timeoutMs,
    `login_id ${loginId.slice(0, 8)} to be ${status}`,
  );

describe('the local stack, with DynamoDB failing after Graph accepted a first message', () => {
  it('hands the record over through the queue when DynamoDB keeps refusing it, and sends once', async () => {
    // Arrange: every record of this person's send is cancelled by a conflict.
    const loginId = newLoginId();
    await faults([failRecord(loginId, 'conflict')]);

    // Act: the sender gives up on the table before its lease ends and hands the record over.
    await optIn(loginId);
    await eventually(
      async () => (/handed over through the queue/.test(stack.output()) ? true : undefined),
      20_000,
      'the hand-over',
    );
    const whileRefused = await stack.optinRecord(loginId);
    await faults([]);
    const recorded = await statusOf(loginId, 'sent');
    // Facebook delivers the same opt-in again.
    await stack.postWebhook(optinBody(loginId));
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Assert
    expect(whileRefused?.status).toBe('sending');
    expect(recorded.messageId).toEqual(expect.any(String));
    expect(await sendsTo(loginId)).toHaveLength(1);
  }, 60_000);

  it('never sends again after the sender died between Graph answer and the record (hold)', async () => {
    // Arrange: the record of this person's send never answers, and the sender waits on it.
    const loginId = newLoginId();
    await faults([failRecord(loginId, 'hang')]);
    await optIn(loginId);
    await eventually(
      async () => ((await sendsTo(loginId)).length === 1 ? true : undefined),
      15_000,
      'the Send API call',
    );

    // Act: the sender process is killed mid-record; the stack starts a new one, as Lambda would.
    const pid = stack.pollerPid();
    process.kill(pid, 'SIGKILL');
    await faults([]);
    // The queue message comes back after its visibility; the lease has run out by then.
    const ended = await statusOf(loginId, 'unknown', 40_000);

    // Assert
    expect(ended.statusReason).toBe('previous_attempt_outcome_unknown');
    expect(await sendsTo(loginId)).toHaveLength(1);
    expect(stack.pollerPid()).not.toBe(pid);
  }, 60_000);
});
