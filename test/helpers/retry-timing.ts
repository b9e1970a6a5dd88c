import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RecordedRequest } from '../../infra/local/graph-emulator';
import { PENDING_KEY } from '../../shared/store/table-definition';

/**
 * When each retry was planned: samples the `pending` index (opt-ins not ended) every
 * `intervalMs` and keeps, per login_id and attempt, the `nextAttemptAt` a failed attempt set.
 * A retry waits at least a second, so a sample every 250 ms sees every plan. With `backlog`
 * (how many messages are visible in the queue), it also keeps that count over time.
 */
export class RetryPlans {
  private readonly plans = new Map<string, number>();
  private readonly backlogs: Array<[atMs: number, visible: number]> = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  /** Samples taken, and how long the slowest took (a slow sample could miss a plan). */
  samples = 0;
  slowestSampleMs = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly backlog?: () => Promise<number>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    const tick = () => {
      this.sampling = this.sample().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Epoch ms the retry after attempt `attempt` of `loginId` was planned for. */
  planned(loginId: string, attempt: number): number | undefined {
    return this.plans.get(`${loginId}#${attempt}`);
  }

  /** Messages visible in the queue at the last sample at or before `atMs` (0 before any). */
  backlogAt(atMs: number): number {
    let visible = 0;
    for (const [at, count] of this.backlogs) {
      if (at > atMs) break;
      visible = count;
    }
    return visible;
  }

  private async sample(): Promise<void> {
    const started = Date.now();
    if (this.backlog) this.backlogs.push([started, await this.backlog()]);
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'pending',
          KeyConditionExpression: 'sweepPk = :pending',
          ProjectionExpression: 'loginId, #status, attempts, nextAttemptAt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': PENDING_KEY },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.status !== 'pending' || typeof item.nextAttemptAt !== 'string') continue;
        this.plans.set(
          `${String(item.loginId)}#${Number(item.attempts)}`,
          Date.parse(item.nextAttemptAt),
        );
      }
      start = page.LastEvaluatedKey;
    } while (start);
    this.samples += 1;
    this.slowestSampleMs = Math.max(this.slowestSampleMs, Date.now() - started);
  }
}

export interface RetryTiming {
  /** Per retry: how long after its planned time its Send API call arrived (ms, may be < 0). */
  lateMs: number[];
  /** The same, for the retries planned while no message waited in the queue. */
  lateWithoutBacklogMs: number[];
  /** Retries whose plan no sample saw. */
  unplanned: number;
  /** Send API calls per login_id (every attempt makes one). */
  attempts: Map<string, number>;
  /** Per login_id, how late each of its retries ran (ms). */
  lateByLoginId: Map<string, number[]>;
}

/**
 * Matches the Send API calls the emulator saw (the n-th call for a login_id is its attempt n) with
 * the plans: the call of attempt n + 1 against the plan attempt n left.
 */
export function retryTiming(
  requests: RecordedRequest[],
  plans: RetryPlans,
  loginIds: ReadonlySet<string>,
): RetryTiming {
  const calls = new Map<string, number[]>();
  for (const request of requests) {
    const loginId = request.recipient?.login_id;
    if (typeof loginId !== 'string' || !loginIds.has(loginId)) continue;
    const list = calls.get(loginId) ?? [];
    list.push(Date.parse(request.at));
    calls.set(loginId, list);
  }
  const lateMs: number[] = [];
  const lateWithoutBacklogMs: number[] = [];
  let unplanned = 0;
  const attempts = new Map<string, number>();
  const lateByLoginId = new Map<string, number[]>();
  for (const [loginId, times] of calls) {
    const own: number[] = [];
    lateByLoginId.set(loginId, own);
    times.sort((a, b) => a - b);
    attempts.set(loginId, times.length);
    for (let n = 1; n < times.length; n += 1) {
      const planned = plans.planned(loginId, n);
      if (planned === undefined) {
        unplanned += 1;
        continue;
      }
      const late = (times[n] ?? 0) - planned;
      lateMs.push(late);
      own.push(late);
      if (plans.backlogAt(planned) === 0) lateWithoutBacklogMs.push(late);
    }
  }
  return { lateMs, lateWithoutBacklogMs, unplanned, attempts, lateByLoginId };
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
    Number.NaN
  );
};
