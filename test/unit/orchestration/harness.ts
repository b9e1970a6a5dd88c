import type { SQSRecord } from 'aws-lambda';
import type { SendMessage, SendOutcome } from '../../../shared/graph/ports';
import { parseFirstMessages } from '../../../shared/login-connect/first-message';
import { PageHealth } from '../../../shared/login-connect/page-health';
import type { ProcessDeps } from '../../../shared/login-connect/process-record';
import type { QueueJob, SentJob } from '../../../shared/messages';
import { parseAppSecrets } from '../../../shared/secrets';
import { secretDocument, sqsRecord } from '../../helpers/factories';
import { FakeMessageStore } from '../../helpers/fakes/message-store';
import { FakeOptinStore } from '../../helpers/fakes/optin-store';
import { FakePageStore } from '../../helpers/fakes/page-store';
import { FakePersonStore } from '../../helpers/fakes/person-store';

export const T0 = Date.parse('2026-11-21T09:00:00.000Z');
export const LEASE_MS = 35_000;

/** A Graph Send API that answers from a script (then `ok`), and keeps every call. */
export class ScriptedGraph {
  readonly calls: Parameters<SendMessage>[0][] = [];
  private readonly script: SendOutcome[] = [];
  private n = 0;
  /** Runs during a call, after Graph accepted it and before the answer comes back. */
  during?: () => Promise<void>;

  answer(...outcomes: SendOutcome[]): this {
    this.script.push(...outcomes);
    return this;
  }

  readonly send: SendMessage = async (input) => {
    this.calls.push(input);
    await this.during?.();
    this.n += 1;
    return this.script.shift() ?? { ok: true, httpStatus: 200, messageId: `m_${this.n}` };
  };
}

export const graphError = (
  code: number,
  extra: { subcode?: number; httpStatus?: number } = {},
): SendOutcome => ({
  ok: false,
  failure: {
    httpStatus: extra.httpStatus ?? 400,
    code,
    ...(extra.subcode !== undefined ? { subcode: extra.subcode } : {}),
    message: `Graph error ${code}`,
  },
});

/** The sender's dependencies, all in memory; a clock the test moves. */
export function harness(overrides: Partial<ProcessDeps> = {}) {
  let owners = 0;
  const clock = { now: T0 };
  const graph = new ScriptedGraph();
  const store = new FakeOptinStore(() => `owner-${++owners}`);
  const messages = new FakeMessageStore(() => `owner-${++owners}`);
  const people = new FakePersonStore();
  const pageStates = new FakePageStore();
  const deferred: Array<{ receiptHandle: string; seconds: number }> = [];
  const handedOver: SentJob[] = [];
  const enqueued: QueueJob[] = [];
  const logs: Array<{ level: string; message: string }> = [];
  const counts: Record<string, number> = {};
  const log = (level: string) => (message: string) => {
    logs.push({ level, message });
  };
  const deps: ProcessDeps = {
    store,
    messages,
    people,
    secrets: async () => parseAppSecrets(secretDocument(), 'test'),
    firstMessages: parseFirstMessages({ default: { message: { text: 'Welcome!' } } }),
    send: graph.send,
    retryPolicy: { baseSeconds: 30, maxSeconds: 900 },
    leaseMs: LEASE_MS,
    unknownOutcome: 'retry',
    followupOptions: { humanAgentEnabled: false },
    pages: new PageHealth(
      pageStates,
      { backoffBaseMs: 60_000, backoffMaxMs: 3_600_000, cacheMs: 0, probeLeaseMs: LEASE_MS },
      () => `probe-${++owners}`,
    ),
    handOver: async (job) => {
      handedOver.push(job);
    },
    enqueue: async (jobs) => {
      enqueued.push(...jobs);
    },
    defer: async (receiptHandle, seconds) => {
      deferred.push({ receiptHandle, seconds });
    },
    // Waiting moves the clock on: the record's retries run against the lease, not the wall.
    sleep: async (ms) => {
      clock.now += ms;
    },
    now: () => clock.now,
    random: () => 0.5,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      count: (name, value = 1) => {
        counts[name] = (counts[name] ?? 0) + value;
      },
      milliseconds: () => {},
    },
    tag: (loginId) => `tag-${loginId}`,
    ...overrides,
  };
  return {
    deps,
    clock,
    graph,
    store,
    messages,
    people,
    pageStates,
    deferred,
    handedOver,
    enqueued,
    logs,
    counts,
  };
}

/** A queue record holding `job`, as SQS hands it to the sender. */
export function recordOf(job: QueueJob, receiveCount = 1): SQSRecord {
  return sqsRecord(JSON.stringify(job), {
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(T0),
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: String(T0),
    },
  });
}
