import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { signatureFor } from '../../shared/webhook/signature';
import { optinItem, optinWithStatus, pageWebhook } from '../helpers/e2e-person';
import { OTHER_PAGE_ID, PAGE_ID } from '../helpers/factories';
import { type FuzzBody, fuzzBodies } from '../helpers/fuzz';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * A few hundred seeded hostile bodies through the running local stack (`npm start`: the real
 * webhook behind the API server, fauxqs, the sender on DynamoDB Local, the Graph emulator). Every
 * body gets a clear answer (never 5xx), the queue drains (nothing stuck), only valid opt-ins are
 * sent, each once and byte for byte, the stack stays up, and a valid opt-in afterwards is sent.
 * FUZZ_SEED replays another seed; the seed is printed.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 12_2026);
const BODIES = 300;
const PARALLEL = 4;
const DRAIN_TIMEOUT_MS = 120_000;

interface EmulatedRequest {
  path: string;
  recipient?: { login_id?: unknown };
  status: number;
}

const stack = useLocalStack({
  env: { SEND_RETRY_BASE_SECONDS: '1', SENDER_TIMEOUT_SECONDS: '2', GRAPH_TIMEOUT_SECONDS: '5' },
});

async function post(body: FuzzBody): Promise<number> {
  const headers: Record<string, string> = {};
  if (body.contentType !== undefined) headers['content-type'] = body.contentType;
  if (body.signature !== 'none')
    headers['x-hub-signature-256'] = signatureFor(
      body.raw,
      body.signature === 'valid' ? stack.info.appSecret : 'not-the-app-secret',
    );
  const response = await fetch(stack.info.webhookUrl, {
    method: 'POST',
    headers,
    body: new Uint8Array(body.raw),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Messages in a queue, visible or not (in flight, or waiting for a retry). */
async function depth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

describe('the local stack under fuzzing', () => {
  it(`answers ${BODIES} hostile bodies (seed ${SEED}) without a 5xx and sends only valid opt-ins, once each`, async () => {
    // Arrange
    const started = Date.now();
    const pollerPid = stack.pollerPid();
    const bodies = [
      ...fuzzBodies({
        seed: SEED,
        count: BODIES,
        now: started,
        pageIds: [PAGE_ID, OTHER_PAGE_ID],
        heavy: 0.3,
        // Lighter than the handler-level fuzz (whose huge batches hit the 1,000-job cap): the
        // sender's DynamoDB Local work shares two cores with the other e2e suites, whose timings
        // are tight.
        hugeBatchItems: 20_000,
        hugeBatchObjectEvery: 100,
        maxEntries: 2,
        maxItems: 3,
      }),
    ];
    const configured = new Set([PAGE_ID, OTHER_PAGE_ID]);
    const valid = bodies.flatMap((b) => b.valid);
    const toSend = valid.filter((v) => configured.has(v.pageId));
    await Promise.all(
      toSend.map((v) =>
        stack.emulator('optins', { loginId: v.loginId, pageId: v.pageId, timestamp: started }),
      ),
    );

    // Act
    const statuses: number[] = [];
    const mismatches: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          const body = bodies[i] as FuzzBody;
          const status = await post(body);
          statuses.push(status);
          if (status !== body.expectStatus)
            mismatches.push(`#${i} ${body.shape}: ${status}, expected ${body.expectStatus}`);
        }
      }),
    );
    const posted = Date.now();
    let left = Number.NaN;
    const drained = await eventually(
      async () => {
        left = await depth(stack.info.queueUrl);
        return left === 0 ? true : undefined;
      },
      DRAIN_TIMEOUT_MS,
      'the send queue to drain',
    ).catch(() => false);
    const drainedAt = Date.now();
    // The Send API's calls only (the emulator also records the Page watch's subscription calls).
    const requests = (await stack.emulator<EmulatedRequest[]>('requests')).filter((r) =>
      r.path.endsWith('/messages'),
    );
    const sentTo = requests.map((r) => r.recipient?.login_id);
    const allowed = new Set(valid.map((v) => v.loginId));
    const neverSent = new Set(bodies.flatMap((b) => b.neverSent));
    const notAllowed = sentTo.filter((id) => typeof id !== 'string' || !allowed.has(id));
    const forbidden = sentTo.filter((id) => typeof id === 'string' && neverSent.has(id));
    const counts = new Map<unknown, number>();
    for (const id of sentTo) counts.set(id, (counts.get(id) ?? 0) + 1);
    const notOnce = toSend.filter((v) => counts.get(v.loginId) !== 1);
    const dead = await depth(stack.info.deadLetterQueueUrl);
    const crashed = /sender invocation failed|unhandled|uncaught/i.test(stack.output());
    // The stack is still up: a valid opt-in now is sent.
    const afterId = `after-fuzz-${started}`;
    await stack.emulator('optins', { loginId: afterId, pageId: PAGE_ID, timestamp: Date.now() });
    const afterStatus = (await stack.postWebhook(pageWebhook([optinItem(afterId)]))).status;
    const after = await optinWithStatus(stack, afterId, 'sent', 15_000);

    // Assert
    const byStatus: Record<number, number> = {};
    for (const status of statuses) byStatus[status] = (byStatus[status] ?? 0) + 1;
    const fiveXx = statuses.filter((s) => s >= 500).length;
    console.log(
      [
        `local stack fuzz, seed ${SEED}: ${BODIES} bodies posted in ${posted - started} ms, queue drained ${drained ? `in ${drainedAt - posted} ms` : `NOT within ${DRAIN_TIMEOUT_MS} ms (${left} left)`}`,
        `  answers ${JSON.stringify(byStatus)}; 5xx: ${fiveXx}; unexpected answers: ${mismatches.length}`,
        `  valid opt-ins ${valid.length} (${toSend.length} to configured Pages); Send API requests ${requests.length}; not sent exactly once: ${notOnce.length}`,
        `  sends to a login_id not byte-identical to a valid opt-in's: ${notAllowed.length}; to one that broke the contract: ${forbidden.length}`,
        `  dead letters ${dead}; stack alive ${stack.alive()}; poller restarted ${stack.pollerPid() !== pollerPid}; sender crashed ${crashed}`,
        `  a valid opt-in afterwards: ${afterStatus} → ${String(after.status)}`,
        ...mismatches.slice(0, 10).map((m) => `  ${m}`),
      ].join('\n'),
    );
    expect(fiveXx).toBe(0);
    expect(mismatches).toEqual([]);
    expect(drained).toBe(true);
    // Not toEqual: it takes [undefined] for [], and a call without a login_id is what to catch.
    expect(notAllowed).toStrictEqual([]);
    expect(forbidden).toEqual([]);
    expect(notOnce).toEqual([]);
    expect(dead).toBe(0);
    expect(crashed).toBe(false);
    expect(stack.alive()).toBe(true);
    expect(stack.pollerPid()).toBe(pollerPid);
    expect(afterStatus).toBe(200);
    expect(toSend.length).toBeGreaterThan(40);
  }, 240_000);
});
