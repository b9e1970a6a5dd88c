/**
 * The whole pipeline on one machine: DynamoDB Local, an SQS emulator (fauxqs), our Graph API
 * emulator, the webhook handler behind a local HTTP API, and the sender behind a local SQS event
 * source. The handlers are the same code as in AWS, with the same SDK clients, pointed at the
 * emulators through the SDK's endpoint variables: their TypeScript sources by default, or with
 * `handlers: { kind: 'bundles' }` (`LCM_HANDLERS=bundles`) the esbuild bundles `cdk synth` wrote,
 * each function in its own worker thread on plain Node 22, as `cdk deploy` ships them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { apiKeysOf } from '../../shared/api/auth';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api/routes';
import { readFirstMessagesFile } from '../../shared/login-connect/first-message';
import { maxReceiveCountFor } from '../../shared/login-connect/retry';
import { fileSecretsSource, parseAppSecrets } from '../../shared/secrets';
import { SettingsSchema } from '../../shared/settings';
import { createTableIfMissing } from '../../shared/store/table-admin';
import { type HttpApiHandler, startApiServer } from './api-server';
import { javaAvailable, LOCAL_CREDENTIALS, startDynamoDbLocal } from './dynamodb-local';
import { GraphEmulator } from './graph-emulator';
import { type HandlerSource, handlerModules, startWorkerHandler } from './handler-modules';
import { lambdaContext } from './lambda-context';
import { ensureQueue, startSqs } from './sqs-emulator';
import { type ConsumedCapacityTotals, type OperationTraffic, WireProxy } from './wire-proxy';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const REGION = 'us-east-1';
/** The Page the generated development secret knows. */
export const DEV_PAGE_ID = '1000000000000001';

export interface LocalStackOptions {
  /** API port (`/webhook`); 0 picks a free one. @default 3000 */
  port: number;
  dynamodbPort: number;
  sqsPort: number;
  /** Port of our Graph emulator, when `graphApiUrl` is not given. @default 3001 */
  graphPort: number;
  /** A Graph API to use instead of starting the emulator. */
  graphApiUrl?: string;
  tableName: string;
  /**
   * Where DynamoDB (`dynamodb/`) and the queues (`sqs/`) keep their data and the generated secret
   * lives. @default .local
   */
  dataDir: string;
  /** The secret document; generated in `dataDir` when not given. */
  secretsFile?: string;
  /** Delete the DynamoDB data and the queued messages first. */
  fresh: boolean;
  sendRetryBaseSeconds: number;
  sendRetryMaxSeconds: number;
  /** `retry` or `hold` (the stack setting `sendUnknownOutcome`). */
  sendUnknownOutcome: string;
  /** Meta granted the Human Agent feature (the stack setting `humanAgentEnabled`). */
  humanAgentEnabled: boolean;
  senderTimeoutSeconds: number;
  /** Records per invocation at most (the event source's `batchSize`). */
  senderBatchSize: number;
  /** Concurrent sender invocations at most (the event source's `maxConcurrency`). */
  senderConcurrency: number;
  /**
   * The event source's batching window (`MaximumBatchingWindowInSeconds`); the stack sets none,
   * Lambda's default 0. @default 0
   */
  senderBatchWindowSeconds?: number;
  graphTimeoutSeconds: number;
  /** How often the sweeper runs, as EventBridge runs it in AWS. */
  sweepIntervalSeconds: number;
  /** How long past its lease or retry time an opt-in may sit before the sweeper takes it up. */
  sweepGraceSeconds?: number;
  /** A paused Page's first and longest back-off (the stack settings `pageBackoff…Seconds`). */
  pageBackoffBaseSeconds: number;
  pageBackoffMaxSeconds: number;
  /** How long the sender keeps a Page's state in memory. */
  pageStateCacheSeconds: number;
  /** How often the Page watchdog runs, as EventBridge runs it in AWS. */
  pageWatchIntervalSeconds: number;
  /** A Page that received opt-ins and then none for this long is reported silent. */
  pageOptinSilenceSeconds: number;
  /** Where child output goes (prefixed by component). @default process.stdout */
  log?: (line: string) => void;
  /**
   * Put wire proxies between the handlers and DynamoDB/SQS: they count requests (the benchmark)
   * and fail chosen ones (the fault tests; `POST <proxy>/_faults`, see `wire-proxy.ts`).
   */
  countRequests?: boolean;
  /**
   * Which code runs the functions: their TypeScript sources, or the bundles of a cloud assembly
   * (`npx cdk synth` first; see `handler-modules.ts`). @default { kind: 'sources' }
   */
  handlers?: HandlerSource;
}

/** A deployment's defaults, which the local stack's follow. */
const DEPLOYED = SettingsSchema.parse({});

export function optionsFromEnv(env: NodeJS.ProcessEnv, argv: string[] = []): LocalStackOptions {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`${name} must be a whole number, got "${raw}"`);
    return value;
  };
  const senderBatchSize = num('SENDER_BATCH_SIZE', DEPLOYED.senderBatchSize);
  const senderBatchWindowSeconds = num('SENDER_BATCH_WINDOW_SECONDS', 0);
  // As the event source mapping refuses them.
  if (senderBatchSize < 1 || senderBatchSize > 10_000)
    throw new Error(`SENDER_BATCH_SIZE must be 1 to 10000, got ${senderBatchSize}`);
  if (senderBatchSize > 10 && senderBatchWindowSeconds < 1)
    throw new Error('a SENDER_BATCH_SIZE above 10 needs SENDER_BATCH_WINDOW_SECONDS of 1 or more');
  if (senderBatchWindowSeconds > 300)
    throw new Error(
      `SENDER_BATCH_WINDOW_SECONDS must be 0 to 300, got ${senderBatchWindowSeconds}`,
    );
  return {
    port: num('PORT', 3000),
    dynamodbPort: num('DYNAMODB_PORT', 8000),
    sqsPort: num('SQS_PORT', 9324),
    graphPort: num('GRAPH_PORT', 3001),
    ...(env.GRAPH_API_URL ? { graphApiUrl: env.GRAPH_API_URL } : {}),
    tableName: env.TABLE_NAME || 'login-connect',
    dataDir: resolve(REPO_ROOT, env.LCM_DATA_DIR || '.local'),
    ...(env.LCM_SECRETS_FILE ? { secretsFile: resolve(env.LCM_SECRETS_FILE) } : {}),
    fresh: argv.includes('--fresh'),
    sendRetryBaseSeconds: num('SEND_RETRY_BASE_SECONDS', 30),
    sendRetryMaxSeconds: num('SEND_RETRY_MAX_SECONDS', 900),
    sendUnknownOutcome: env.SEND_UNKNOWN_OUTCOME || 'retry',
    humanAgentEnabled: env.HUMAN_AGENT_ENABLED === 'true',
    senderTimeoutSeconds: num('SENDER_TIMEOUT_SECONDS', 30),
    // The event source as a deployment sets it up by default (`senderBatchSize`,
    // `senderMaxConcurrency`, no batching window).
    senderBatchSize,
    senderConcurrency: num('SENDER_CONCURRENCY', DEPLOYED.senderMaxConcurrency),
    senderBatchWindowSeconds,
    graphTimeoutSeconds: num('GRAPH_TIMEOUT_SECONDS', 10),
    sweepIntervalSeconds: num('SWEEP_INTERVAL_SECONDS', 60),
    ...(env.SWEEP_GRACE_SECONDS ? { sweepGraceSeconds: num('SWEEP_GRACE_SECONDS', 0) } : {}),
    pageBackoffBaseSeconds: num('PAGE_BACKOFF_BASE_SECONDS', 60),
    pageBackoffMaxSeconds: num('PAGE_BACKOFF_MAX_SECONDS', 3600),
    pageStateCacheSeconds: num('PAGE_STATE_CACHE_SECONDS', 5),
    pageWatchIntervalSeconds: num('PAGE_WATCH_INTERVAL_SECONDS', 60),
    pageOptinSilenceSeconds: num('PAGE_OPTIN_SILENCE_SECONDS', 86_400),
    countRequests: env.LCM_WIRE_PROXY === 'true',
    handlers: handlerSourceFromEnv(env),
  };
}

/** `LCM_HANDLERS`: `sources` (default) or `bundles`, from `LCM_CDK_OUT` (default `cdk.out`). */
function handlerSourceFromEnv(env: NodeJS.ProcessEnv): HandlerSource {
  const kind = env.LCM_HANDLERS || 'sources';
  if (kind === 'sources') return { kind };
  if (kind === 'bundles') return { kind, cdkOut: resolve(REPO_ROOT, env.LCM_CDK_OUT || 'cdk.out') };
  throw new Error(`LCM_HANDLERS must be "sources" or "bundles", got "${kind}"`);
}

/** What a person (or a test) needs to reach the running stack. Also written to `<dataDir>/stack.json`. */
export interface LocalStackInfo {
  webhookUrl: string;
  apiUrl: string;
  /** A key of the secret's `apiKeys`, for `Authorization: Bearer` on the API. */
  apiKey?: string;
  verifyToken: string;
  appSecret: string;
  secretsFile: string;
  pageIds: string[];
  graphApiUrl: string;
  graphEmulatorUrl?: string;
  dynamodbEndpoint: string;
  tableName: string;
  sqsEndpoint: string;
  /** The proxies the handlers reach DynamoDB and SQS through (with `LCM_WIRE_PROXY=true`). */
  dynamodbProxyUrl?: string;
  sqsProxyUrl?: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  region: string;
  dataDir: string;
}

/** One handler invocation, timed around the handler as Lambda bills it (cold starts aside). */
export interface Invocation {
  fn: 'webhook' | 'sender';
  ms: number;
}

export interface LocalStack {
  info: LocalStackInfo;
  /** DynamoDB and SQS requests the handlers made, by operation (with `countRequests`). */
  requestCounts(): Record<string, number>;
  /** The same requests, with their size as SQS bills it and empty receives (`countRequests`). */
  requestTraffic(): Record<string, OperationTraffic>;
  /**
   * With `countRequests`: from now on, the DynamoDB proxy measures the capacity each request
   * consumes (`WireProxyOptions.measureCapacity`; it slows transactions down).
   */
  setMeasureCapacity(on: boolean): void;
  /** DynamoDB capacity the handlers' requests consumed while measured (`setMeasureCapacity`). */
  consumedCapacity(): {
    /** As DynamoDB Local reported it. */
    reported: ConsumedCapacityTotals;
    /** With transactions priced by AWS's rules (DynamoDB Local under-reports them). */
    aws: ConsumedCapacityTotals;
  };
  /** Webhook and sender invocations since the last reset, with their durations. */
  invocations(): Invocation[];
  /** Resets the request counts, traffic, capacity and invocations. */
  resetRequestCounts(): void;
  /** The sender's process id (it changes when the poller restarts). */
  pollerPid(): number | undefined;
  stop(): Promise<void>;
}

/** Writes a development secret (random app secret and verify token, one Page) unless one exists. */
export function ensureDevSecret(path: string): void {
  if (existsSync(path)) return;
  const doc = {
    appSecret: randomBytes(16).toString('hex'),
    verifyToken: randomBytes(12).toString('hex'),
    pages: { [DEV_PAGE_ID]: { accessToken: `EAAL${randomBytes(24).toString('hex')}` } },
    loginApp: { appId: '2000000000000002', clientToken: randomBytes(16).toString('hex') },
    apiKeys: { local: randomBytes(24).toString('hex') },
  };
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`stop: ${(error as Error).message}`);
      }
    }
  };
  try {
    return await start(options, log, stops, stopAll);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function start(
  options: LocalStackOptions,
  log: (line: string) => void,
  stops: Array<() => Promise<void>>,
  stopAll: () => Promise<void>,
): Promise<LocalStack> {
  if (!javaAvailable()) {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found. Install it (e.g. `apt-get install openjdk-17-jre-headless`) and try again.',
    );
  }
  mkdirSync(options.dataDir, { recursive: true });
  const dynamoDir = join(options.dataDir, 'dynamodb');
  const sqsDir = join(options.dataDir, 'sqs');
  for (const dir of [dynamoDir, sqsDir]) {
    if (options.fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const secretsFile = options.secretsFile ?? join(options.dataDir, 'secret.json');
  if (options.secretsFile === undefined) ensureDevSecret(secretsFile);
  const secrets = parseAppSecrets(JSON.parse(readFileSync(secretsFile, 'utf8')), secretsFile);
  const firstMessages = readFirstMessagesFile(join(REPO_ROOT, 'infra', 'first-messages.json'));
  // Found before anything starts: a missing or incomplete cloud assembly fails at once.
  const handlers = options.handlers ?? { kind: 'sources' };
  const modules = handlerModules(handlers);
  if (handlers.kind === 'bundles') log(`[stack] functions: the bundles of ${handlers.cdkOut}`);

  // Every emulator is started at once; each takes its own time.
  const [dynamo, fauxqs, graph] = await Promise.all([
    startDynamoDbLocal({ port: options.dynamodbPort, dataDir: dynamoDir }),
    startSqs({ port: options.sqsPort, dataDir: sqsDir, region: REGION }),
    options.graphApiUrl === undefined
      ? GraphEmulator.start({
          port: options.graphPort,
          // Cached for a second: edits to the file apply at once, without a parse per request.
          secrets: fileSecretsSource(secretsFile, 1),
        })
      : Promise.resolve(undefined),
  ]);
  stops.push(() => stopChild(dynamo.process, 5000));
  stops.push(() => fauxqs.stop());
  if (graph) stops.push(() => graph.close());
  const graphApiUrl = options.graphApiUrl ?? graph?.url ?? '';

  const dynamoClient = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  await createTableIfMissing(dynamoClient, options.tableName);
  dynamoClient.destroy();

  // The queues as the stack defines them: visibility 6 × the sender timeout, a DLQ after the
  // receives the retry policy needs.
  const retryPolicy = {
    baseSeconds: options.sendRetryBaseSeconds,
    maxSeconds: options.sendRetryMaxSeconds,
  };
  const dlq = await ensureQueue(
    fauxqs,
    `${options.tableName}-dlq`,
    { MessageRetentionPeriod: '1209600' },
    REGION,
  );
  const queue = await ensureQueue(
    fauxqs,
    `${options.tableName}-jobs`,
    {
      VisibilityTimeout: String(options.senderTimeoutSeconds * 6),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(maxReceiveCountFor(retryPolicy)),
      }),
    },
    REGION,
  );

  const proxies = options.countRequests
    ? await Promise.all([
        WireProxy.start(dynamo.endpoint, 'DynamoDB'),
        WireProxy.start(fauxqs.address, 'SQS'),
      ])
    : [];
  for (const proxy of proxies) stops.push(() => proxy.close());

  const handlerEnv: NodeJS.ProcessEnv = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: proxies[0]?.url ?? dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: proxies[1]?.url ?? fauxqs.address,
    TABLE_NAME: options.tableName,
    QUEUE_URL: queue.queueUrl,
    LCM_SECRETS_FILE: secretsFile,
    SECRETS_MAX_AGE_SECONDS: '1',
    GRAPH_API_URL: graphApiUrl,
    GRAPH_API_VERSION: 'v25.0',
    GRAPH_TIMEOUT_SECONDS: String(options.graphTimeoutSeconds),
    SEND_RETRY_BASE_SECONDS: String(options.sendRetryBaseSeconds),
    SEND_RETRY_MAX_SECONDS: String(options.sendRetryMaxSeconds),
    SEND_LEASE_SECONDS: String(options.senderTimeoutSeconds + 5),
    SEND_UNKNOWN_OUTCOME: options.sendUnknownOutcome,
    HUMAN_AGENT_ENABLED: options.humanAgentEnabled ? 'true' : 'false',
    FIRST_MESSAGES_JSON: JSON.stringify(firstMessages),
    POWERTOOLS_SERVICE_NAME: 'login-connect',
    POWERTOOLS_METRICS_DISABLED: 'true',
    LCM_SENDER_BATCH_SIZE: String(options.senderBatchSize),
    LCM_SENDER_CONCURRENCY: String(options.senderConcurrency),
    LCM_SENDER_BATCH_WINDOW_MS: String((options.senderBatchWindowSeconds ?? 0) * 1000),
    LCM_SENDER_TIMEOUT_SECONDS: String(options.senderTimeoutSeconds),
    SWEEP_GRACE_SECONDS: String(options.sweepGraceSeconds ?? options.senderTimeoutSeconds * 6 + 60),
    PAGE_BACKOFF_BASE_SECONDS: String(options.pageBackoffBaseSeconds),
    PAGE_BACKOFF_MAX_SECONDS: String(options.pageBackoffMaxSeconds),
    PAGE_STATE_CACHE_SECONDS: String(options.pageStateCacheSeconds),
    PAGE_WATCH_INTERVAL_SECONDS: String(options.pageWatchIntervalSeconds),
    PAGE_OPTIN_SILENCE_SECONDS: String(options.pageOptinSilenceSeconds),
    LCM_SENDER_MODULE: modules.sender,
  };

  const invocations: Invocation[] = [];
  const poller = await startPoller(
    { ...process.env, ...handlerEnv },
    options.dataDir,
    log,
    stops,
    (ms) => invocations.push({ fn: 'sender', ms }),
  );

  // The other functions run in this process (sources) or each in its own worker thread (bundles),
  // configured exactly as their Lambdas would be.
  Object.assign(process.env, handlerEnv);
  const load = async <E, R>(fn: keyof typeof modules, timeoutSeconds: number) => {
    if (handlers.kind === 'sources')
      return (require(modules[fn]) as { handler: (event: E, context: Context) => Promise<R> })
        .handler;
    const instance = await startWorkerHandler(modules[fn], fn, timeoutSeconds * 1000);
    stops.push(() => instance.stop());
    return (event: E, _context: Context) => instance.invoke(event) as Promise<R>;
  };
  const [webhook, apiHandler, sweeper, pageWatch] = await Promise.all([
    load<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>('webhook', 10),
    load<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>('api', 15),
    load<unknown, unknown>('sweeper', 60),
    load<unknown, unknown>('page-watch', 300),
  ]);
  const timedWebhook: HttpApiHandler = async (event, context) => {
    const started = performance.now();
    try {
      return await webhook(event, context);
    } finally {
      invocations.push({ fn: 'webhook', ms: performance.now() - started });
    }
  };
  const api = await startApiServer({
    port: options.port,
    routes: {
      'GET /webhook': timedWebhook,
      'POST /webhook': timedWebhook,
      ...Object.fromEntries([...API_ROUTES, ...PUBLIC_ROUTES].map((route) => [route, apiHandler])),
    },
  });
  stops.push(() => api.close());

  // The sweeper on its schedule, as EventBridge would invoke it.
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweepTimer = setInterval(() => {
    sweeping = sweeper({}, lambdaContext('sweeper', 60_000)).catch((error) =>
      log(`[sweeper] ${(error as Error).message}`),
    );
  }, options.sweepIntervalSeconds * 1000);
  stops.push(async () => {
    clearInterval(sweepTimer);
    await sweeping;
  });

  // The Page watchdog on its schedule, as EventBridge would invoke it.
  let watching: Promise<unknown> = Promise.resolve();
  let watchRunning = false;
  const watchTimer = setInterval(() => {
    if (watchRunning) return;
    watchRunning = true;
    watching = pageWatch({}, lambdaContext('page-watch', 300_000))
      .catch((error) => log(`[page-watch] ${(error as Error).message}`))
      .finally(() => {
        watchRunning = false;
      });
  }, options.pageWatchIntervalSeconds * 1000);
  stops.push(async () => {
    clearInterval(watchTimer);
    await watching;
  });

  const info: LocalStackInfo = {
    webhookUrl: `${api.url}/webhook`,
    apiUrl: api.url,
    ...(apiKeysOf(secrets.apiKeys)[0] ? { apiKey: apiKeysOf(secrets.apiKeys)[0] } : {}),
    verifyToken: secrets.verifyToken,
    appSecret: secrets.appSecret,
    secretsFile,
    pageIds: Object.keys(secrets.pages),
    graphApiUrl,
    ...(graph ? { graphEmulatorUrl: graph.url } : {}),
    dynamodbEndpoint: dynamo.endpoint,
    tableName: options.tableName,
    sqsEndpoint: fauxqs.address,
    ...(proxies[0] ? { dynamodbProxyUrl: proxies[0].url } : {}),
    ...(proxies[1] ? { sqsProxyUrl: proxies[1].url } : {}),
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: dlq.queueUrl,
    region: REGION,
    dataDir: options.dataDir,
  };
  writeFileSync(join(options.dataDir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`);
  stops.push(async () => rmSync(join(options.dataDir, 'stack.json'), { force: true }));
  return {
    info,
    requestCounts: () => Object.assign({}, ...proxies.map((p) => p.snapshot())),
    requestTraffic: () => Object.assign({}, ...proxies.map((p) => p.traffic())),
    setMeasureCapacity: (on) => proxies[0]?.setMeasureCapacity(on),
    consumedCapacity: () => {
      const none = { tables: {}, operations: {}, unmeasured: {} };
      return {
        reported: proxies[0]?.consumedCapacity() ?? none,
        aws: proxies[0]?.awsCapacity() ?? none,
      };
    },
    invocations: () => [...invocations],
    resetRequestCounts: () => {
      for (const proxy of proxies) proxy.reset();
      invocations.length = 0;
    },
    pollerPid: poller.pid,
    stop: stopAll,
  };
}

/**
 * Runs the sender's event source in its own process and, like Lambda replacing a dead instance,
 * starts a new one when it dies. Its pid is kept in `<dataDir>/poller.pid`.
 */
async function startPoller(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  log: (line: string) => void,
  stops: Array<() => Promise<void>>,
  onInvocation: (ms: number) => void,
): Promise<{ pid(): number | undefined }> {
  let current: ChildProcess | undefined;
  let stopping = false;
  const pidFile = join(dataDir, 'poller.pid');
  const launch = () =>
    new Promise<void>((resolveReady, rejectReady) => {
      const child = spawn(
        process.execPath,
        ['--no-warnings', '--import', 'tsx', join(__dirname, 'poller.ts')],
        {
          cwd: REPO_ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        },
      );
      current = child;
      pipeLines(child, 'sender', log);
      writeFileSync(pidFile, String(child.pid));
      child.once('message', () => resolveReady());
      // After the ready message, the poller reports each invocation's duration.
      child.on('message', (message: { invocationMs?: unknown }) => {
        if (typeof message?.invocationMs === 'number') onInvocation(message.invocationMs);
      });
      child.once('exit', (code, signal) => {
        rejectReady(new Error(`the sender poller exited before it was ready (${signal ?? code})`));
        if (stopping) return;
        log(
          `[stack] sender poller exited (${signal ?? code}); starting a new one, as Lambda would`,
        );
        setTimeout(() => {
          if (!stopping) launch().catch((error) => log(`[stack] ${(error as Error).message}`));
        }, 300);
      });
    });
  await launch();
  stops.push(async () => {
    stopping = true;
    if (current) await stopChild(current, 10_000);
    rmSync(pidFile, { force: true });
  });
  return { pid: () => current?.pid };
}

/** Prefixes each line a child prints with its component's name. */
function pipeLines(child: ChildProcess, name: string, log: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') log(`[${name}] ${line}`);
    });
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
