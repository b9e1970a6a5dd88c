/**
 * The local stack's SQS: fauxqs, with its queues and messages in SQLite (`node:sqlite`, Node 22.5
 * or later) under a data directory. Every message SQS acknowledged, and so every webhook answered
 * 200, survives a crash of the whole stack, SIGKILL included, and comes back after a restart on
 * the same data, in flight or not, as it would in SQS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from './dynamodb-local';

export async function startSqs(options: { port: number; dataDir: string; region: string }) {
  await fixPersistence();
  // fauxqs is an ES module; this file runs as CommonJS under tsx, so load it dynamically.
  const { startFauxqs } = await import('fauxqs');
  return startFauxqs({
    port: options.port,
    host: 'localhost',
    logger: false,
    defaultRegion: options.region,
    dataDir: options.dataDir,
  });
}

export type Sqs = Awaited<ReturnType<typeof startSqs>>;

/**
 * Creates the queue, or, when it was restored from the data directory, keeps it and its messages
 * and applies the attributes (fauxqs' `createQueue` would replace a restored queue with an empty
 * one). The URL names the port this run listens on.
 */
export async function ensureQueue(
  sqs: Sqs,
  name: string,
  attributes: Record<string, string>,
  region: string,
): Promise<{ queueUrl: string; queueArn: string }> {
  const restored = sqs.inspectQueue(name);
  if (restored === undefined) return sqs.createQueue(name, { attributes });
  const queueUrl = restored.url.replace(/:\d+\//, `:${sqs.port}/`);
  const client = new SQSClient({
    endpoint: sqs.address,
    region,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  });
  try {
    await client.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }),
    );
  } finally {
    client.destroy();
  }
  return { queueUrl, queueArn: restored.arn };
}

interface PersistenceManagerLike {
  db: {
    prepare(sql: string): { run(...values: unknown[]): unknown };
    exec(sql: string): void;
  };
  updateMessageReady(messageId: string): void;
  prepareStatements(): unknown;
}

let fixed = false;

/**
 * fauxqs 2.4.1 with `dataDir` loses a message that is made visible again at once
 * (`ChangeMessageVisibility` with `VisibilityTimeout: 0`, as `lcm redrive --dry-run` does to put
 * back what it looked at): its `updateMessageReady` writes NULL into the NOT NULL
 * `approximate_receive_count` column, SQLite refuses, and the exception comes after the message
 * left the in-flight set and before it rejoined the visible one. The request fails, the SDK
 * retries it ("receipt handle is invalid") and the message is gone until the next restart. The
 * fix writes only what "visible again" means: no receipt handle, no visibility deadline. fauxqs
 * is pinned exactly; this refuses to start rather than run unpatched on a version that changed.
 */
async function fixPersistence(): Promise<void> {
  if (fixed) return;
  const file = (require.resolve.paths('fauxqs') ?? [])
    .map((dir) => join(dir, 'fauxqs', 'dist', 'persistence.js'))
    .find((candidate) => existsSync(candidate));
  const loaded = file
    ? ((await import(pathToFileURL(file).href)) as {
        PersistenceManager?: { prototype: PersistenceManagerLike };
      })
    : {};
  const proto = loaded.PersistenceManager?.prototype;
  if (
    !proto ||
    typeof proto.updateMessageReady !== 'function' ||
    typeof proto.prepareStatements !== 'function'
  ) {
    throw new Error(
      'fauxqs is not the version the local stack was checked with (2.4.1): see infra/local/sqs-emulator.ts',
    );
  }
  // fauxqs writes each message change in its own transaction, on the event loop the webhook, the
  // API and the Graph emulator share, and in WAL mode SQLite's default (`synchronous = FULL`)
  // flushes the log to disk at every commit. Measured here: 500 messages sent, received and
  // deleted in batches of 10 took 2.9 s with `FULL`, the event loop blocked most of it, and 0.6 s
  // with `NORMAL`, which flushes only at checkpoints. What SQS acknowledged
  // still survives any crash of the stack's processes (SIGKILL included): the commit is in the
  // operating system's hands; only a crash of the machine itself can lose the last ones
  // (https://www.sqlite.org/pragma.html#pragma_synchronous).
  const prepareStatements = proto.prepareStatements;
  proto.prepareStatements = function prepareDurableEnough(this: PersistenceManagerLike) {
    this.db.exec('PRAGMA synchronous = NORMAL');
    return prepareStatements.call(this);
  };
  const statements = new WeakMap<object, { run(...values: unknown[]): unknown }>();
  proto.updateMessageReady = function updateMessageReady(
    this: PersistenceManagerLike,
    messageId: string,
  ) {
    let statement = statements.get(this);
    if (!statement) {
      statement = this.db.prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      );
      statements.set(this, statement);
    }
    statement.run(messageId);
  };
  fixed = true;
}
