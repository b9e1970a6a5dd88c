/**
 * `lcm`, the operators' inspector: answers "why didn't this person get a message?" from the
 * records, lists and counts opt-ins, shows each Page's health, redrives the dead-letter queue and
 * opts people out. Run it
 * with `npx lcm <command>` (bin/lcm.js); `lcm --help` lists the commands.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Invocation, parseCommandLine } from './args';
import { inspectPerson } from './commands/inspect';
import { listOptins } from './commands/list';
import { optoutPerson } from './commands/optout';
import { listPages } from './commands/pages';
import { redrive } from './commands/redrive';
import { optinStats } from './commands/stats';
import type { Context, Outcome } from './context';
import { CliError, UsageError } from './errors';
import {
  describeStackOutputs,
  documentClient,
  type Env,
  type ResolveDeps,
  resolveTarget,
  sqsClient,
  type Target,
  withAws,
} from './target';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Env;
  now(): number;
  /** Deployed stacks' outputs; CloudFormation unless a test says otherwise. */
  stackOutputs?: ResolveDeps['stackOutputs'];
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  now: () => Date.now(),
};

type Command = Exclude<Invocation, { command: 'help' }>;

function execute(ctx: Context, invocation: Command, env: Env): Promise<Outcome<unknown>> {
  switch (invocation.command) {
    case 'inspect':
      return inspectPerson(ctx, invocation);
    case 'list':
      return listOptins(ctx, invocation);
    case 'stats':
      return optinStats(ctx, invocation);
    case 'redrive':
      return redrive(ctx, invocation);
    case 'optout':
      return optoutPerson(ctx, invocation, env);
    case 'pages':
      return listPages(ctx);
  }
}

/** Runs one command line and returns the exit code: 0 ok, 1 error, 2 usage. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv, io.now());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`lcm: ${error.message}\n\n${error.usage ?? 'Run lcm --help for the commands.'}\n`);
    return 2;
  }
  if (invocation.command === 'help') {
    io.stdout(`${invocation.text}\n`);
    return 0;
  }

  let doc: DynamoDBDocumentClient | undefined;
  let sqs: SQSClient | undefined;
  try {
    const args = invocation.target;
    const stackOutputs = io.stackOutputs ?? describeStackOutputs;
    const target: Target = await withAws(
      {
        actions: ['cloudformation:DescribeStacks'],
        resource: `stack ${args.stack ?? ''}`,
        target: {
          kind: 'stack',
          description: `stack ${args.stack ?? ''}`,
          ...(args.region ? { region: args.region } : {}),
        },
      },
      () => resolveTarget(args, { env: io.env, stackOutputs }),
    );
    const json = invocation.json;
    const ctx: Context = {
      target,
      nowMs: io.now(),
      doc: () => {
        doc ??= documentClient(target);
        return doc;
      },
      sqs: () => {
        sqs ??= sqsClient(target);
        return sqs;
      },
      // With --json, stdout carries one JSON document; progress goes beside it.
      progress: (line) => (json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`)),
    };
    const outcome = await execute(ctx, invocation, io.env);
    io.stdout(json ? `${JSON.stringify(outcome.view, null, 2)}\n` : outcome.render());
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`lcm: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CliError) {
      io.stderr(`lcm: ${error.message}\n`);
      return error.exitCode;
    }
    const err = error as Error;
    io.stderr(`lcm: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}\n`);
    return 1;
  } finally {
    doc?.destroy();
    sqs?.destroy();
  }
}
