import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { freePort, LOCAL_CREDENTIALS } from '../../infra/local/dynamodb-local';
import type { LocalStackInfo } from '../../infra/local/stack';
import { keys } from '../../shared/store/table-definition';
import { signatureFor } from '../../shared/webhook/signature';
import { secretDocument } from './factories';
import { writeSecretsFile } from './secrets-file';

const ROOT = join(__dirname, '..', '..');
const READY = /^Ready in /m;

export interface RunningStack {
  info: LocalStackInfo;
  output(): string;
  /** True while the `npm start` process runs. */
  alive(): boolean;
  /** The stack's own process id (with `detached`, also its process group's id). */
  pid: number;
  pollerPid(): number;
  doc: DynamoDBDocumentClient;
  /** Resolves once the stack's process has exited (however it ended). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export interface StartStackOptions {
  /** @default 60 s */
  timeoutMs?: number;
  /**
   * Run on this data folder, which `stop()` then leaves in place. By default a new temporary
   * folder is used and removed on `stop()`.
   */
  dataDir?: string;
  /** Start with `--fresh` (empty table and queues). @default true */
  fresh?: boolean;
  /**
   * Start the stack in its own process group (its pid is the group id), so that a test can kill
   * it with everything it started, DynamoDB Local and the sender included, as a crash would.
   */
  detached?: boolean;
}

/**
 * Starts `npm start`'s entry as a child process on free ports with its own data folder, exactly as
 * a person would run it, and waits for its ready line.
 */
export async function startStack(
  env: Record<string, string> = {},
  options: StartStackOptions = {},
): Promise<RunningStack> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lcm-e2e-'));
  const [port, dynamodbPort, sqsPort, graphPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--no-warnings',
      '--import',
      'tsx',
      join(ROOT, 'infra', 'local', 'start.ts'),
      ...(options.fresh === false ? [] : ['--fresh']),
    ],
    {
      cwd: ROOT,
      detached: options.detached ?? false,
      env: {
        ...process.env,
        PORT: String(port),
        DYNAMODB_PORT: String(dynamodbPort),
        SQS_PORT: String(sqsPort),
        GRAPH_PORT: String(graphPort),
        LCM_DATA_DIR: dataDir,
        POWERTOOLS_LOG_LEVEL: 'WARN',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the local stack was not ready within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      if (READY.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited with ${code} before it was ready:\n${output}`));
    });
  });
  const info = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as LocalStackInfo;
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: info.dynamodbEndpoint,
      region: info.region,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  return {
    info,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    pid: child.pid ?? 0,
    pollerPid: () => Number(readFileSync(join(dataDir, 'poller.pid'), 'utf8')),
    doc,
    exited,
    stop: async () => {
      doc.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Posts a webhook body signed (or not) as Facebook would. */
export async function postWebhook(
  stack: RunningStack,
  body: string,
  signature: string | null = signatureFor(body, stack.info.appSecret),
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(stack.info.webhookUrl, { method: 'POST', headers, body });
}

export async function emulator<T = unknown>(
  stack: RunningStack,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${stack.info.graphEmulatorUrl}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`emulator ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function optinRecord(stack: RunningStack, loginId: string) {
  const { Item } = await stack.doc.send(
    new GetCommand({
      TableName: stack.info.tableName,
      Key: keys.optin(loginId),
      ConsistentRead: true,
    }),
  );
  return Item;
}

/** The rejected opt-ins recorded for a login_id string (kept under its SHA-256). */
export async function rejectedOptins(stack: RunningStack, loginId: string) {
  const { Items } = await stack.doc.send(
    new QueryCommand({
      TableName: stack.info.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: {
        ':pk': keys.rejectedOptin({
          loginIdSha256: createHash('sha256').update(loginId, 'utf8').digest('hex'),
          itemSha256: '',
        }).pk,
      },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

/** Polls until `check` returns a value, or fails with what it last saw. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface UseLocalStackOptions {
  /**
   * The stack's settings (`SENDER_TIMEOUT_SECONDS`, …) on top of `startStack`'s. A function is
   * called in `beforeAll`, right before the start, so slow preparation (a synth) shares its
   * timeout.
   */
  env?: Record<string, string> | (() => Record<string, string>);
  /** The secret document, written to a temporary `LCM_SECRETS_FILE`. @default secretDocument() */
  secret?: Record<string, unknown>;
  /** How long `beforeAll` may take to start the stack. @default 90 s */
  timeoutMs?: number;
}

/**
 * What `useLocalStack` answers: the running stack (from its `beforeAll` on), an SQS client on its
 * emulator, and this file's helpers bound to it. It is itself a `RunningStack`, so the helpers
 * that take one (`e2e-person.ts`, `lcm-cli.ts`) take it too.
 */
export interface LocalStackHandle extends RunningStack {
  /** An SQS client on the stack's emulator (made on first use, destroyed in `afterAll`). */
  readonly sqs: SQSClient;
  postWebhook(body: string, signature?: string | null): Promise<Response>;
  emulator<T = unknown>(path: string, body?: unknown): Promise<T>;
  optinRecord(loginId: string): ReturnType<typeof optinRecord>;
  rejectedOptins(loginId: string): ReturnType<typeof rejectedOptins>;
}

/**
 * Runs the local stack (`startStack`) for the tests of this file: registers a `beforeAll` that
 * starts it with a fresh secret file and an `afterAll` that stops it and removes what it made.
 * Call it at the top of the test file; the handle works in tests and in later hooks.
 */
export function useLocalStack(options: UseLocalStackOptions = {}): LocalStackHandle {
  let running: RunningStack | undefined;
  let secretsFile: string | undefined;
  let sqs: SQSClient | undefined;
  const current = (): RunningStack => {
    if (running === undefined)
      throw new Error('the local stack is not running: use it in a test, after its beforeAll');
    return running;
  };
  const handle: LocalStackHandle = {
    get info() {
      return current().info;
    },
    get pid() {
      return current().pid;
    },
    get doc() {
      return current().doc;
    },
    get exited() {
      return current().exited;
    },
    output: () => current().output(),
    alive: () => current().alive(),
    pollerPid: () => current().pollerPid(),
    stop: () => current().stop(),
    get sqs() {
      sqs ??= new SQSClient({
        endpoint: current().info.sqsEndpoint,
        region: current().info.region,
        credentials: LOCAL_CREDENTIALS,
        useQueueUrlAsEndpoint: false,
      });
      return sqs;
    },
    postWebhook: (body, signature) => postWebhook(current(), body, signature),
    emulator: (path, body) => emulator(current(), path, body),
    optinRecord: (loginId) => optinRecord(current(), loginId),
    rejectedOptins: (loginId) => rejectedOptins(current(), loginId),
  };
  beforeAll(async () => {
    secretsFile = writeSecretsFile(options.secret ?? secretDocument());
    const env = typeof options.env === 'function' ? options.env() : (options.env ?? {});
    running = await startStack({ LCM_SECRETS_FILE: secretsFile, ...env });
  }, options.timeoutMs ?? 90_000);
  afterAll(async () => {
    sqs?.destroy();
    await running?.stop();
    if (secretsFile) rmSync(dirname(secretsFile), { recursive: true, force: true });
  });
  return handle;
}
