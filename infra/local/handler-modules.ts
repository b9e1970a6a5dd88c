/**
 * Which code the local stack runs for each function: the TypeScript sources (`functions/*.ts`,
 * through tsx, the default) or the esbuild bundles `cdk synth` wrote into a cloud assembly
 * (`cdk.out/asset.<hash>/index.js`), which are what `cdk deploy` uploads.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FunctionInstanceData, Invocation, InvocationResult } from './function-instance.cjs';

export type LocalFunction = 'webhook' | 'sender' | 'api' | 'sweeper' | 'page-watch';

/** `sources`: `functions/*.ts`; `bundles`: the synthesized bundles of the cloud assembly `cdkOut`. */
export type HandlerSource = { kind: 'sources' } | { kind: 'bundles'; cdkOut: string };

/** The construct id of each function in `infra/pipeline-stack.ts` (`<id>/Function/Resource`). */
const CONSTRUCT_IDS: Record<string, LocalFunction> = {
  Webhook: 'webhook',
  Sender: 'sender',
  Api: 'api',
  Sweeper: 'sweeper',
  PageWatch: 'page-watch',
};

const FUNCTIONS_DIR = resolve(__dirname, '..', '..', 'functions');

/** The module to load for each function: a `.ts` source, or a bundle's `index.js`. */
export function handlerModules(source: HandlerSource): Record<LocalFunction, string> {
  if (source.kind === 'sources') {
    return Object.fromEntries(
      Object.values(CONSTRUCT_IDS).map((fn) => [fn, join(FUNCTIONS_DIR, `${fn}.ts`)]),
    ) as Record<LocalFunction, string>;
  }
  return bundlesOf(source.cdkOut);
}

interface TemplateResource {
  Type?: string;
  Metadata?: Record<string, unknown>;
  Properties?: { Code?: { S3Key?: unknown } };
}

/** `<hash>.zip` → `asset.<hash>`, when the template was synthesized without asset metadata. */
function assetOfS3Key(resource: TemplateResource): string | undefined {
  const key = resource.Properties?.Code?.S3Key;
  return typeof key === 'string' && key.endsWith('.zip') ? `asset.${key.slice(0, -4)}` : undefined;
}

/**
 * Finds each function's bundle in a cloud assembly: the `AWS::Lambda::Function` resources of its
 * templates name their construct path (`aws:cdk:path`, `<stack>/<id>/Function/Resource`) and their
 * asset folder (`aws:asset:path`). Throws when a function or its `index.js` is missing, or when
 * two templates both have one (a stale assembly).
 */
export function bundlesOf(cdkOut: string): Record<LocalFunction, string> {
  const dir = resolve(cdkOut);
  if (!existsSync(dir)) throw new Error(`no cloud assembly at ${dir}: run \`npx cdk synth\` first`);
  const found: Partial<Record<LocalFunction, string>> = {};
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      Resources?: Record<string, TemplateResource>;
    };
    for (const resource of Object.values(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? '');
      const match = /([^/]+)\/Function\/Resource$/.exec(cdkPath);
      const fn = match ? CONSTRUCT_IDS[match[1] ?? ''] : undefined;
      if (!fn) continue;
      if (found[fn]) throw new Error(`${dir} holds more than one ${fn} function (${file})`);
      const asset = resource.Metadata?.['aws:asset:path'] ?? assetOfS3Key(resource);
      if (typeof asset !== 'string') throw new Error(`${cdkPath} names no asset folder`);
      const entry = join(dir, asset, 'index.js');
      if (!existsSync(entry)) throw new Error(`${cdkPath}: no bundle at ${entry}`);
      found[fn] = entry;
    }
  }
  const missing = Object.values(CONSTRUCT_IDS).filter((fn) => !found[fn]);
  if (missing.length > 0)
    throw new Error(`${dir}: no synthesized bundle for ${missing.join(', ')}`);
  return found as Record<LocalFunction, string>;
}

/**
 * Starts a function instance (`function-instance.cts`) in a worker thread for `module`. A bundle
 * runs on plain Node, as in Lambda (no tsx, its source map for stack traces); a TypeScript source
 * needs the parent's `--import tsx`, which the worker inherits. The worker's environment is a copy
 * of this process's.
 */
export function startFunctionInstance(module: string, functionName: string): Worker {
  const bundle = !module.endsWith('.ts');
  return new Worker(join(__dirname, 'function-instance.cts'), {
    workerData: { module, functionName } satisfies FunctionInstanceData,
    ...(bundle
      ? { execArgv: ['--disable-warning=ExperimentalWarning', '--enable-source-maps'] }
      : {}),
  });
}

/** A handler that runs in its own function instance (`startFunctionInstance`). */
export interface WorkerHandler {
  invoke(event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Runs `module`'s handler in a worker thread, as one warm Lambda instance: resolves once the module
 * is loaded (a load error rejects, as a failed init does). Invocations may overlap; each gets a
 * context with `timeoutMs`. A worker that dies fails the invocations it had and is replaced at the
 * next one, as Lambda replaces a crashed instance.
 */
export async function startWorkerHandler(
  module: string,
  functionName: string,
  timeoutMs: number,
): Promise<WorkerHandler> {
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let stopping = false;
  const launch = () =>
    new Promise<Worker>((resolveReady, rejectReady) => {
      const worker = startFunctionInstance(module, functionName);
      worker.once('message', () => {
        worker.on('message', (result: InvocationResult) => {
          const waiter = result.id === undefined ? undefined : pending.get(result.id);
          if (!waiter || result.id === undefined) return;
          pending.delete(result.id);
          if (result.ok) waiter.resolve(result.response);
          else waiter.reject(new Error(result.message));
        });
        resolveReady(worker);
      });
      worker.once('error', rejectReady);
      worker.once('exit', (code) => {
        rejectReady(new Error(`${functionName} exited with ${code} before it was ready`));
        for (const [id, waiter] of pending) {
          pending.delete(id);
          waiter.reject(new Error(`the ${functionName} instance exited (${code})`));
        }
        if (!stopping) current = undefined;
      });
    });
  let current: Promise<Worker> | undefined = launch();
  await current;
  return {
    invoke: async (event) => {
      current ??= launch();
      const worker = await current;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, event, timeoutMs } satisfies Invocation);
      });
    },
    stop: async () => {
      stopping = true;
      const worker = await current?.catch(() => undefined);
      await worker?.terminate();
    },
  };
}
