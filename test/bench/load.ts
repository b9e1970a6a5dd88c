/**
 * The load of `npm run bench:e2e`, in a process of its own so that its CPU is not counted as the
 * stack's: it registers opt-ins with the Graph emulator, posts signed webhooks, and waits until
 * Graph has a message for each. The benchmark drives it over IPC (`LoadGenerator`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signatureFor } from '../../shared/webhook/signature';

export interface LoadPlan {
  webhookUrl: string;
  appSecret: string;
  /** The Graph emulator, whose control API (`/_emulator`) lists the messages it accepted. */
  graphUrl: string;
  pageId: string;
  loginIds: string[];
  /** How many times each webhook is delivered. */
  copies: number;
  perWebhook: number;
  /** Webhooks in flight at once (ignored with `ratePerSecond`: one at a time, paced). */
  concurrency: number;
  ratePerSecond?: number;
  /**
   * In rounds: `concurrency` webhooks posted at once, then nothing more until Graph has accepted a
   * message for each of their opt-ins (at most `concurrency` webhooks waiting at any time).
   */
  rounds?: boolean;
  /** How long to wait for the last message. */
  waitMs: number;
}

export interface LoadResult {
  /** From the first post to the last message Graph accepted. */
  seconds: number;
  /** From the first post to the webhook's answer to the last. */
  postSeconds: number;
  /** Opt-in → send, ms: from the post of an opt-in's first webhook to Graph accepting its message. */
  latencies: number[];
  /** Messages Graph accepted for these opt-ins (exactly one each is expected). */
  sent: number;
  /** The opt-ins among them: `sent` and `distinct` both equal to the opt-ins is exactly one each. */
  distinct: number;
}

interface Message {
  recipient: { login_id?: string };
  at: string;
}

type Request =
  | { id: number; type: 'prepare'; graphUrl: string; pageId: string; count: number }
  | { id: number; type: 'run'; plan: LoadPlan };

/** A call to the Graph emulator's control API (`/_emulator/<path>`). */
export async function control(graphUrl: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${graphUrl}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return response.json();
}

/** New opt-ins, registered with the Graph emulator so it accepts a first message for each. */
async function prepare(graphUrl: string, pageId: string, count: number): Promise<string[]> {
  const loginIds = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  for (const loginId of loginIds) await control(graphUrl, 'optins', { loginId, pageId });
  return loginIds;
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const optinAt = new Map<string, number>();
  const bodies: string[][] = [];
  for (let i = 0; i < plan.loginIds.length; i += plan.perWebhook)
    bodies.push(plan.loginIds.slice(i, i + plan.perWebhook));
  const queue = bodies.flatMap((ids) => Array.from({ length: plan.copies }, () => ids));
  const started = Date.now();
  let posted = 0;
  const post = async (ids: string[]) => {
    const timestamp = Date.now();
    for (const id of ids) if (!optinAt.has(id)) optinAt.set(id, timestamp);
    const raw = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: plan.pageId,
          time: timestamp,
          messaging: ids.map((id) => ({
            recipient: { id: plan.pageId },
            timestamp,
            optin: { login_id: id },
          })),
        },
      ],
    });
    const response = await fetch(plan.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signatureFor(raw, plan.appSecret),
      },
      body: raw,
    });
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
  };
  const sentTo = async () =>
    new Set(
      ((await control(plan.graphUrl, 'messages')) as Message[]).map((m) => m.recipient.login_id),
    );
  if (plan.rounds) {
    const roundDeadline = Date.now() + plan.waitMs;
    while (queue.length > 0) {
      const round = queue.splice(0, plan.concurrency);
      await Promise.all(round.map(post));
      const wanted = round.flat();
      // Every 20 ms: the latency is Graph's own timestamp, so this only sets when the next round starts.
      for (let sent = await sentTo(); !wanted.every((id) => sent.has(id)); sent = await sentTo()) {
        if (Date.now() > roundDeadline)
          throw new Error('a round of opt-ins got no messages in time');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
  await Promise.all(
    Array.from({ length: plan.ratePerSecond ? 1 : plan.concurrency }, async () => {
      for (let ids = queue.shift(); ids; ids = queue.shift()) {
        if (plan.ratePerSecond) {
          const due = started + (posted * 1000) / plan.ratePerSecond;
          posted += 1;
          if (due > Date.now())
            await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        }
        await post(ids);
      }
    }),
  );
  const postSeconds = (Date.now() - started) / 1000;
  const wanted = new Set(plan.loginIds);
  let sent: Message[] = [];
  const deadline = Date.now() + plan.waitMs;
  while (Date.now() < deadline) {
    sent = ((await control(plan.graphUrl, 'messages')) as Message[]).filter(
      (m) => m.recipient.login_id && wanted.has(m.recipient.login_id),
    );
    if (sent.length >= plan.loginIds.length) break;
    // Not too often: the emulator shares the CPU with everything being measured.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    seconds: (Math.max(...sent.map((m) => Date.parse(m.at))) - started) / 1000,
    postSeconds,
    latencies: sent.map((m) => Date.parse(m.at) - (optinAt.get(m.recipient.login_id ?? '') ?? 0)),
    sent: sent.length,
    distinct: new Set(sent.map((m) => m.recipient.login_id)).size,
  };
}

/** The benchmark's side: a load generator process, one request at a time. */
export class LoadGenerator {
  private next = 0;

  private constructor(private readonly child: ChildProcess) {}

  static start(env: NodeJS.ProcessEnv): Promise<LoadGenerator> {
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', __filename], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('message', () => resolve(new LoadGenerator(child)));
      child.once('exit', (code) => reject(new Error(`the load generator exited with ${code}`)));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  prepare(graphUrl: string, pageId: string, count: number): Promise<string[]> {
    return this.ask({ id: 0, type: 'prepare', graphUrl, pageId, count });
  }

  run(plan: LoadPlan): Promise<LoadResult> {
    return this.ask({ id: 0, type: 'run', plan });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }

  private ask<T>(request: Request): Promise<T> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the load generator exited with ${code}`));
      const onMessage = (message: { id: number; result?: T; error?: string }) => {
        if (message.id !== id) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (message.error !== undefined) reject(new Error(message.error));
        else resolve(message.result as T);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ ...request, id });
    });
  }
}

if (require.main === module) {
  process.on('message', (request: Request) => {
    const work =
      request.type === 'prepare'
        ? prepare(request.graphUrl, request.pageId, request.count)
        : run(request.plan);
    work.then(
      (result) => process.send?.({ id: request.id, result }),
      (error: unknown) =>
        process.send?.({
          id: request.id,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  process.send?.('ready');
}
