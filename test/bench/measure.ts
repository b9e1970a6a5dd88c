/**
 * The arithmetic of `npm run bench:e2e`, kept apart from the I/O so it can be unit-tested:
 * percentiles, reading `/proc`, CPU per opt-in, and the DynamoDB ceiling each scenario is held to.
 */

/** The nearest-rank percentile (`p` in 0–100) of `values`; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The fields of `/proc/<pid>/stat` the benchmark reads; times in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** User and system CPU time of all the process's threads, in clock ticks (`CLK_TCK`). */
  utime: number;
  stime: number;
}

/**
 * Parses `/proc/<pid>/stat` (proc(5)). The command name sits in parentheses and may itself hold
 * spaces and parentheses, so fields are counted from the last `)`: state is field 3, the parent's
 * pid field 4, utime field 14 and stime field 15.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open)
    throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number) => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc/<pid>/stat has no field ${n}`);
    return value;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
  };
}

/** All CPUs' time from the first line of `/proc/stat`, in clock ticks: busy and in all. */
export function parseMachineCpu(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu " line');
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .slice(4)
    .trim()
    .split(/\s+/)
    .map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}

/** DynamoDB Local's own pace, measured alone in the same run, just before the burst. */
export interface DynamoFloor {
  /** `TransactWriteItems` a second: the sender's own claim and record, on scratch opt-ins. */
  transactionsPerSecond: number;
  /** Single conditional writes a second, of an OPTIN item, on scratch keys. */
  conditionalWritesPerSecond: number;
}

/**
 * The better of two measures of the floor, kind by kind: other work on the machine only ever
 * slows DynamoDB Local down, so the faster measure is the closer one to what it can do.
 */
export function fasterFloor(a: DynamoFloor, b: DynamoFloor): DynamoFloor {
  return {
    transactionsPerSecond: Math.max(a.transactionsPerSecond, b.transactionsPerSecond),
    conditionalWritesPerSecond: Math.max(
      a.conditionalWritesPerSecond,
      b.conditionalWritesPerSecond,
    ),
  };
}

/** Requests of these operations are held to the transaction floor; all others to the single write's. */
const TRANSACTIONS = new Set(['TransactWriteItems', 'TransactGetItems']);

export interface CeilingTerm {
  operation: string;
  perMessage: number;
  floorKind: 'transaction' | 'conditional write';
  /** Requests a second DynamoDB Local managed alone, of this kind. */
  floor: number;
}

export interface Ceiling {
  /** DynamoDB requests per first message, all operations. */
  requestsPerMessage: number;
  terms: CeilingTerm[];
  /**
   * First messages a second DynamoDB Local could carry: one over the sum, for each operation, of
   * its requests per first message divided by its floor. With a single kind of request it is the
   * issue's floor ÷ requests per first message.
   */
  messagesPerSecond: number;
}

/**
 * The DynamoDB ceiling of a scenario, from the requests its handlers made per first message
 * (`perMessage`, by operation, without the `DynamoDB.` prefix) and the floor.
 */
export function dynamoCeiling(perMessage: Record<string, number>, floor: DynamoFloor): Ceiling {
  const terms: CeilingTerm[] = Object.entries(perMessage)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([operation, n]) =>
      TRANSACTIONS.has(operation)
        ? { operation, perMessage: n, floorKind: 'transaction', floor: floor.transactionsPerSecond }
        : {
            operation,
            perMessage: n,
            floorKind: 'conditional write',
            floor: floor.conditionalWritesPerSecond,
          },
    );
  const secondsPerMessage = terms.reduce((sum, t) => sum + t.perMessage / t.floor, 0);
  return {
    requestsPerMessage: terms.reduce((sum, t) => sum + t.perMessage, 0),
    terms,
    messagesPerSecond: secondsPerMessage > 0 ? 1 / secondsPerMessage : Number.POSITIVE_INFINITY,
  };
}

/** The DynamoDB operations of a proxy's counts (`DynamoDB.X` → `X`), per first message. */
export function dynamoPerMessage(
  counts: Record<string, number>,
  messages: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([op]) => op.startsWith('DynamoDB.'))
      .map(([op, n]) => [op.slice('DynamoDB.'.length), n / messages]),
  );
}

export type Verdict = 'PASS' | 'MISS';

/** PASS when `measured` is at least (`atLeast`) or at most (`atMost`) the target. */
export function verdict(measured: number, target: number, kind: 'atLeast' | 'atMost'): Verdict {
  if (!Number.isFinite(measured)) return 'MISS';
  return (kind === 'atLeast' ? measured >= target : measured <= target) ? 'PASS' : 'MISS';
}

/** A Markdown table, columns padded so it also reads as plain text. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** How a ceiling was reached, in words: the issue's floor ÷ requests per first message. */
export function ceilingArithmetic(ceiling: Ceiling): string {
  const [only, ...more] = ceiling.terms;
  if (!only) return 'no DynamoDB request';
  const per = (t: CeilingTerm) => `${t.perMessage.toFixed(2)} ${t.operation}`;
  if (more.length === 0)
    return `${only.floor.toFixed(0)} ${only.operation}/s ÷ ${per(only)} per first message`;
  return `1 ÷ (${ceiling.terms.map((t) => `${per(t)} ÷ ${t.floor.toFixed(0)}/s`).join(' + ')})`;
}
