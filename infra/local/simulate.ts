/**
 * `npm run simulate -- optin [--page <id>] [--login-id <id>] [--count N] [--duplicates K]
 *   [--age-hours H] [--fault <kind>] [--timeout-seconds S]` (`--help` for the kinds).
 *
 * Plays Facebook against the running local stack: registers each opt-in with the Graph emulator
 * (as Facebook would know it), posts signed `messaging_optins` webhooks (each `--duplicates` times,
 * concurrently), then reports what reached the Send API and how each record ended.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TERMINAL_STATUSES } from '../../shared/store/optin-store';
import { keys } from '../../shared/store/table-definition';
import { signatureFor } from '../../shared/webhook/signature';
import { UsageError } from '../cli/errors';
import { closest, decimalNumber, parseOptions, wholeNumber } from '../cli/options';
import { LOCAL_CREDENTIALS } from './dynamodb-local';
import { FAULT_KINDS } from './graph-emulator';
import { type LocalStackInfo, REPO_ROOT } from './stack';

/** Bounds that keep a run finite and meaningful. */
const MAX_COUNT = 10_000;
const MAX_DUPLICATES = 100;
const MAX_AGE_HOURS = 24 * 400;
const MAX_TIMEOUT_SECONDS = 3_600;

export const USAGE = `usage: npm run simulate -- optin [options]

Plays Facebook against the running local stack (npm start): registers each opt-in with the Graph
emulator, posts signed messaging_optins webhooks, then waits for every record to end and reports
what reached the Send API.

  --page <id>             the Page (default: the first in the local secret file)
  --login-id <id>         this login_id (with --count 1) instead of a random one
  --count N               opt-ins to post, 1 to ${MAX_COUNT} (default 1)
  --duplicates K          deliver each webhook K times at once, 1 to ${MAX_DUPLICATES} (default 1)
  --age-hours H           how old each opt-in is, 0 to ${MAX_AGE_HOURS}; over 24 it is rejected (default 0)
  --fault <kind>          the Graph emulator answers the first send so: ${FAULT_KINDS.join(', ')}
  --timeout-seconds S     stop waiting after S seconds, 1 to ${MAX_TIMEOUT_SECONDS} (default 60)
  -h, --help              this help

Exit codes: 0 ok, 1 error (or a login_id got more than one message), 2 usage.`;

const OPTIONS = {
  page: { type: 'string' },
  'login-id': { type: 'string' },
  count: { type: 'string' },
  duplicates: { type: 'string' },
  'age-hours': { type: 'string' },
  fault: { type: 'string' },
  'timeout-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SimulateArgs {
  pageId?: string;
  loginId?: string;
  count: number;
  duplicates: number;
  ageHours: number;
  fault?: (typeof FAULT_KINDS)[number];
  timeoutMs: number;
}

/**
 * Reads the simulator's command line: what to simulate, or `help`. Throws `UsageError` (exit
 * code 2) for anything else: no or another command, an unknown option, a number that is not one
 * or is out of range (so a run never waits forever), an unknown `--fault`.
 */
export function parseSimulateArgs(
  argv: string[],
): { help: true } | ({ help: false } & SimulateArgs) {
  const { values, positionals } = parseOptions({
    argv,
    options: OPTIONS,
    usage: USAGE,
    allowPositionals: true,
  });
  if (values.help) return { help: true };
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError('give a command: optin', USAGE);
  if (command !== 'optin')
    throw new UsageError(
      `unknown command "${command}"${closest(command, ['optin']) ? ' (did you mean optin?)' : ''}`,
      USAGE,
    );
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, USAGE);
  const text = (name: keyof typeof OPTIONS) => {
    const value = values[name];
    if (typeof value === 'string' && value.trim() === '')
      throw new UsageError(`--${name} must not be empty`, USAGE);
    return typeof value === 'string' ? value : undefined;
  };
  const count = wholeNumber('--count', text('count') ?? '1', { min: 1, max: MAX_COUNT }, USAGE);
  const duplicates = wholeNumber(
    '--duplicates',
    text('duplicates') ?? '1',
    { min: 1, max: MAX_DUPLICATES },
    USAGE,
  );
  const ageHours = decimalNumber(
    '--age-hours',
    text('age-hours') ?? '0',
    { min: 0, max: MAX_AGE_HOURS },
    USAGE,
  );
  const timeoutSeconds = wholeNumber(
    '--timeout-seconds',
    text('timeout-seconds') ?? '60',
    { min: 1, max: MAX_TIMEOUT_SECONDS },
    USAGE,
  );
  const fault = text('fault');
  if (fault !== undefined && !(FAULT_KINDS as readonly string[]).includes(fault)) {
    const match = closest(fault, FAULT_KINDS);
    throw new UsageError(
      `--fault is one of ${FAULT_KINDS.join(', ')}, got "${fault}"${match ? ` (did you mean ${match}?)` : ''}`,
      USAGE,
    );
  }
  const pageId = text('page');
  if (pageId !== undefined && !/^[0-9]{1,32}$/.test(pageId))
    throw new UsageError(`--page takes a Page id (digits), got "${pageId}"`, USAGE);
  const loginId = text('login-id');
  if (loginId !== undefined && count !== 1)
    throw new UsageError('--login-id goes with a single opt-in (--count 1)', USAGE);
  return {
    help: false,
    count,
    duplicates,
    ageHours,
    timeoutMs: timeoutSeconds * 1000,
    ...(pageId !== undefined ? { pageId } : {}),
    ...(loginId !== undefined ? { loginId } : {}),
    ...(fault !== undefined ? { fault: fault as (typeof FAULT_KINDS)[number] } : {}),
  };
}

interface Outcome {
  loginId: string;
  status: string;
  reason?: string;
  attempts?: number;
  messageId?: string;
  latencyMs?: number;
  sends: number;
}

function readStackInfo(): LocalStackInfo {
  const dataDir = resolve(REPO_ROOT, process.env.LCM_DATA_DIR || '.local');
  try {
    return JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8'));
  } catch {
    throw new Error(
      `No running local stack found (${join(dataDir, 'stack.json')}). Start it with \`npm start\` in another terminal.`,
    );
  }
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export async function simulateOptins(
  info: LocalStackInfo,
  args: {
    pageId: string;
    loginIds: string[];
    duplicates: number;
    ageHours: number;
    fault?: string;
    timeoutMs: number;
  },
): Promise<Outcome[]> {
  if (!Number.isFinite(args.timeoutMs) || args.timeoutMs <= 0)
    throw new Error(`timeoutMs must be a positive number, got ${args.timeoutMs}`);
  const optinAt = Date.now() - Math.round(args.ageHours * 3_600_000);
  const emulator = info.graphEmulatorUrl;
  if (emulator) {
    for (const loginId of args.loginIds) {
      const registered = await post(`${emulator}/_emulator/optins`, {
        loginId,
        pageId: args.pageId,
        timestamp: optinAt,
      });
      if (!registered.ok)
        throw new Error(
          `the Graph emulator refused the opt-in: ${registered.status} ${await registered.text()}`,
        );
      if (args.fault) await post(`${emulator}/_emulator/faults`, { loginId, kind: args.fault });
    }
  }

  // Facebook batches: up to 10 opt-ins per webhook here, as one entry's messaging[].
  const webhooks: string[] = [];
  for (let i = 0; i < args.loginIds.length; i += 10) {
    const messaging = args.loginIds.slice(i, i + 10).map((loginId) => ({
      recipient: { id: args.pageId },
      timestamp: optinAt,
      optin: { login_id: loginId },
    }));
    webhooks.push(
      JSON.stringify({ object: 'page', entry: [{ id: args.pageId, time: Date.now(), messaging }] }),
    );
  }
  const answers = await Promise.all(
    webhooks.flatMap((body) =>
      Array.from({ length: args.duplicates }, () =>
        fetch(info.webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signatureFor(body, info.appSecret),
          },
          body,
        }).then((r) => r.status),
      ),
    ),
  );
  const refused = answers.filter((status) => status !== 200);
  if (refused.length > 0)
    throw new Error(
      `the webhook refused ${refused.length} deliveries: ${[...new Set(refused)].join(', ')}`,
    );

  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: info.dynamodbEndpoint,
      region: info.region,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const deadline = Date.now() + args.timeoutMs;
  let records: Array<Record<string, unknown> | undefined> = [];
  for (;;) {
    records = await Promise.all(
      args.loginIds.map(
        async (loginId) =>
          (
            await doc.send(
              new GetCommand({
                TableName: info.tableName,
                Key: keys.optin(loginId),
                ConsistentRead: true,
              }),
            )
          ).Item ?? (await rejectedOptin(doc, info.tableName, loginId)),
      ),
    );
    const ended = (r: Record<string, unknown> | undefined) =>
      r !== undefined && (TERMINAL_STATUSES.has(String(r.status)) || r.status === 'rejected');
    if (records.every(ended) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  doc.destroy();

  const sends = new Map<string, number>();
  if (emulator) {
    const messages = (await (await fetch(`${emulator}/_emulator/messages`)).json()) as Array<{
      recipient?: { login_id?: string };
    }>;
    for (const m of messages) {
      const id = m.recipient?.login_id;
      if (id) sends.set(id, (sends.get(id) ?? 0) + 1);
    }
  }
  return args.loginIds.map((loginId, i) => {
    const record = records[i];
    const sentAt = typeof record?.sentAt === 'string' ? Date.parse(record.sentAt) : undefined;
    const recordedOptin =
      typeof record?.optinAt === 'string' ? Date.parse(record.optinAt) : optinAt;
    return {
      loginId,
      status: String(record?.status ?? 'missing'),
      ...(record?.statusReason ? { reason: String(record.statusReason) } : {}),
      ...(typeof record?.attempts === 'number' ? { attempts: record.attempts } : {}),
      ...(record?.messageId ? { messageId: String(record.messageId) } : {}),
      ...(sentAt !== undefined ? { latencyMs: sentAt - recordedOptin } : {}),
      sends: sends.get(loginId) ?? 0,
    };
  });
}

/** An opt-in that broke the input contract (e.g. `--age-hours 25`) has a REJECTED# item instead. */
async function rejectedOptin(
  doc: DynamoDBDocumentClient,
  tableName: string,
  loginId: string,
): Promise<Record<string, unknown> | undefined> {
  const loginIdSha256 = createHash('sha256').update(loginId).digest('hex');
  const { Items } = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: {
        ':pk': keys.rejectedOptin({ loginIdSha256, itemSha256: '' }).pk,
      },
      ConsistentRead: true,
      Limit: 1,
    }),
  );
  return Items?.[0];
}

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(argv: string[]): Promise<void> {
  const args = parseSimulateArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const { count, duplicates } = args;
  const info = readStackInfo();
  const pageId = args.pageId ?? info.pageIds[0] ?? '';
  // Real login_ids are hex HMAC-SHA256 digests; random ones of the same shape.
  const loginIds = args.loginId
    ? [args.loginId]
    : Array.from({ length: count }, () => randomBytes(32).toString('hex'));

  console.log(
    `Posting ${count} opt-in(s) for Page ${pageId}${duplicates > 1 ? `, each delivered ${duplicates} times` : ''} to ${info.webhookUrl} …`,
  );
  const started = Date.now();
  const outcomes = await simulateOptins(info, {
    pageId,
    loginIds,
    duplicates,
    ageHours: args.ageHours,
    ...(args.fault ? { fault: args.fault } : {}),
    timeoutMs: args.timeoutMs,
  });

  const rows = outcomes
    .slice(0, 20)
    .map((o) => [
      `${o.loginId.slice(0, 12)}…`,
      o.status,
      o.reason ?? '',
      String(o.attempts ?? ''),
      String(o.sends),
      o.latencyMs !== undefined ? `${o.latencyMs} ms` : '',
      o.messageId ?? '',
    ]);
  const header = [
    'login_id',
    'status',
    'reason',
    'attempts',
    'sends seen',
    'opt-in→send',
    'message_id',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
  console.log(`\n${line(header)}\n${rows.map(line).join('\n')}`);
  if (outcomes.length > rows.length) console.log(`… and ${outcomes.length - rows.length} more`);

  const byStatus = new Map<string, number>();
  for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  const latencies = outcomes.flatMap((o) => (o.latencyMs !== undefined ? [o.latencyMs] : []));
  const totalSends = outcomes.reduce((sum, o) => sum + o.sends, 0);
  console.log(
    `\n${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')}; ${totalSends} message(s) reached the Send API` +
      (latencies.length > 0
        ? `; opt-in→send p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`
        : '') +
      ` (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (outcomes.some((o) => o.sends > 1)) {
    console.error(
      'More than one message reached the Send API for one login_id: that breaks the exactly-once rule.',
    );
    // 1, an error: 2 is kept for usage errors, as in lcm.
    process.exit(1);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    if (error instanceof UsageError) {
      console.error(`simulate: ${error.message}\n\n${error.usage ?? USAGE}`);
      process.exit(2);
    }
    console.error((error as Error).message);
    process.exit(1);
  });
}
