/**
 * `npm run simulate -- optin [--page <id>] [--login-id <id>] [--count N] [--duplicates K]
 *   [--age-hours H] [--fault server_error|rate_limit|unavailable|window_closed|token_invalid|slow]`
 *
 * Plays Facebook against the running local stack: registers each opt-in with the Graph emulator
 * (as Facebook would know it), posts signed `messaging_optins` webhooks (each `--duplicates` times,
 * concurrently), then reports what reached the Send API and how each record ended.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TERMINAL_STATUSES } from '../../shared/store/optin-store';
import { keys } from '../../shared/store/table-definition';
import { signatureFor } from '../../shared/webhook/signature';
import { LOCAL_CREDENTIALS } from './dynamodb-local';
import { type LocalStackInfo, REPO_ROOT } from './stack';

const USAGE = `usage: npm run simulate -- optin [--page <id>] [--login-id <id>] [--count N] [--duplicates K]
                         [--age-hours H] [--fault <kind>] [--timeout-seconds S]`;

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

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'optin') throw new Error(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: {
      page: { type: 'string' },
      'login-id': { type: 'string' },
      count: { type: 'string', default: '1' },
      duplicates: { type: 'string', default: '1' },
      'age-hours': { type: 'string', default: '0' },
      fault: { type: 'string' },
      'timeout-seconds': { type: 'string', default: '60' },
    },
  });
  const info = readStackInfo();
  const count = Number(values.count);
  const duplicates = Number(values.duplicates);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(duplicates) || duplicates < 1)
    throw new Error(USAGE);
  if (values['login-id'] && count !== 1)
    throw new Error('--login-id goes with a single opt-in (--count 1)');
  const pageId = values.page ?? info.pageIds[0] ?? '';
  // Real login_ids are hex HMAC-SHA256 digests; random ones of the same shape.
  const loginIds = values['login-id']
    ? [values['login-id']]
    : Array.from({ length: count }, () => randomBytes(32).toString('hex'));

  console.log(
    `Posting ${count} opt-in(s) for Page ${pageId}${duplicates > 1 ? `, each delivered ${duplicates} times` : ''} to ${info.webhookUrl} …`,
  );
  const started = Date.now();
  const outcomes = await simulateOptins(info, {
    pageId,
    loginIds,
    duplicates,
    ageHours: Number(values['age-hours']),
    ...(values.fault ? { fault: values.fault } : {}),
    timeoutMs: Number(values['timeout-seconds']) * 1000,
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
    process.exit(2);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
