/**
 * `lcm`, the operators' inspector: answers "why didn't this person get a message?" from the
 * records, lists and counts opt-ins, shows each Page's health, redrives the dead-letter queue and
 * opts people out. Run it
 * with `npx lcm <command>` (bin/lcm.js); `lcm --help` lists the commands.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import packageJson from '../../package.json';
import { type Invocation, parseCommandLine } from './args';
import { inspectPerson } from './commands/inspect';
import { listOptins } from './commands/list';
import { optoutPerson } from './commands/optout';
import { listPages } from './commands/pages';
import { redrive } from './commands/redrive';
import { optinStats } from './commands/stats';
import type { Context, Outcome } from './context';
import { CliError, UsageError } from './errors';
import { progressOn } from './progress';
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
  /** Whether stderr is a terminal (progress is then one line rewritten in place), and its width. */
  stderrTTY?: boolean;
  stderrColumns?: number;
  env: Env;
  now(): number;
  /** Deployed stacks' outputs; CloudFormation unless a test says otherwise. */
  stackOutputs?: ResolveDeps['stackOutputs'];
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrTTY: process.stderr.isTTY === true,
  stderrColumns: process.stderr.columns,
  env: process.env,
  now: () => Date.now(),
};

type Command = Exclude<Invocation, { command: 'help' } | { command: 'version' }>;

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
  if (invocation.command === 'version') {
    io.stdout(`lcm ${packageJson.version}\n`);
    return 0;
  }

  const progress = progressOn(
    {
      write: io.stderr,
      ...(io.stderrTTY !== undefined ? { isTTY: io.stderrTTY } : {}),
      ...(io.stderrColumns !== undefined ? { columns: io.stderrColumns } : {}),
    },
    io.now,
  );
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
      progress: (line) => progress.update(line),
    };
    const outcome = await execute(ctx, invocation, io.env);
    progress.done();
    io.stdout(json ? `${JSON.stringify(outcome.view, null, 2)}\n` : outcome.render());
    return 0;
  } catch (error) {
    progress.done();
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
