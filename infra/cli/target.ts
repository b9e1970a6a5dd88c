import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AppSecrets, fileSecretsSource, parseAppSecrets } from '../../shared/secrets';
import { STACK_OUTPUTS } from '../../shared/stack-outputs';
import type { LocalStackInfo } from '../local/stack';
import type { TargetArgs } from './args';
import { CliError, UsageError } from './errors';

/**
 * The checkout's root, where `npm start` keeps its data folder (and stack.json): the nearest
 * folder above this file with a package.json, whether this runs as TypeScript (infra/cli/) or as
 * the bundle (dist/).
 */
export function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
const REPO_ROOT = packageRoot(__dirname);
/** Emulators accept any credentials; the SDK still wants some, and a region. */
const DUMMY_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const DEFAULT_LOCAL_REGION = 'us-east-1';

/** Where the records and queues are, once resolved, and how to reach them. */
export interface Target {
  kind: 'local' | 'stack' | 'explicit';
  /** For people: "local stack (…/stack.json)", "stack LoginConnect". */
  description: string;
  tableName?: string;
  queueUrl?: string;
  deadLetterQueueUrl?: string;
  region?: string;
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  /**
   * The AWS profile (`--profile`): the SDK clients' `profile`, which their default credential
   * chain and region lookup read instead of AWS_PROFILE.
   */
  profile?: string;
  /** Set only for emulators; AWS targets use the SDK's usual credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where the secret document is: a file (local stack) or Secrets Manager (a stack's output). */
  secretsFile?: string;
  secretArn?: string;
}

export type Env = Record<string, string | undefined>;

/** `<LCM_DATA_DIR or .local>/stack.json`, as `npm start` writes it. */
export function stackJsonPath(env: Env): string {
  return join(resolve(REPO_ROOT, env.LCM_DATA_DIR || '.local'), 'stack.json');
}

const isLoopback = (url: string) => {
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
};

/** The target of a running `npm start`, from its stack.json. */
export function localTarget(info: LocalStackInfo, path: string): Target {
  return {
    kind: 'local',
    description: `local stack (${path})`,
    tableName: info.tableName,
    queueUrl: info.queueUrl,
    deadLetterQueueUrl: info.deadLetterQueueUrl,
    region: info.region,
    dynamodbEndpoint: info.dynamodbEndpoint,
    sqsEndpoint: info.sqsEndpoint,
    credentials: DUMMY_CREDENTIALS,
    secretsFile: info.secretsFile,
  };
}

/** The target named by a deployed stack's outputs (see shared/stack-outputs.ts). */
export function stackTarget(
  name: string,
  outputs: Record<string, string | undefined>,
  region: string | undefined,
): Target {
  const tableName = outputs[STACK_OUTPUTS.tableName];
  const queueUrl = outputs[STACK_OUTPUTS.queueUrl];
  const deadLetterQueueUrl = outputs[STACK_OUTPUTS.deadLetterQueueUrl];
  const secretArn = outputs[STACK_OUTPUTS.secretArn];
  return {
    kind: 'stack',
    description: `stack ${name}${region ? ` (${region})` : ''}`,
    ...(tableName ? { tableName } : {}),
    ...(queueUrl ? { queueUrl } : {}),
    ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
    ...(region ? { region } : {}),
    ...(secretArn ? { secretArn } : {}),
  };
}

/**
 * The target's secret document, for commands that derive `login_id`s; undefined (with why) when
 * the target names none.
 */
export async function readTargetSecrets(
  target: Target,
): Promise<{ secrets: AppSecrets } | { missing: string }> {
  if (target.secretsFile) return { secrets: await fileSecretsSource(target.secretsFile, 0)() };
  if (target.secretArn) {
    const client = new SecretsManagerClient(clientConfig(target, undefined));
    try {
      const { SecretString } = await client.send(
        new GetSecretValueCommand({ SecretId: target.secretArn }),
      );
      return { secrets: parseAppSecrets(JSON.parse(SecretString ?? '{}'), target.secretArn) };
    } finally {
      client.destroy();
    }
  }
  return {
    missing: `${target.description} names no secret (output ${STACK_OUTPUTS.secretArn}, or a local stack's secret file)`,
  };
}

/** Explicit flags win over what the local stack or the deployed stack says. */
export function applyOverrides(base: Target, args: TargetArgs): Target {
  const target: Target = { ...base };
  if (args.table) target.tableName = args.table;
  if (args.queueUrl) target.queueUrl = args.queueUrl;
  if (args.dlqUrl) target.deadLetterQueueUrl = args.dlqUrl;
  if (args.region) target.region = args.region;
  if (args.profile) target.profile = args.profile;
  if (args.endpointUrl) {
    target.dynamodbEndpoint = args.endpointUrl;
    target.sqsEndpoint = args.endpointUrl;
    if (isLoopback(args.endpointUrl)) {
      target.credentials ??= DUMMY_CREDENTIALS;
      target.region ??= DEFAULT_LOCAL_REGION;
    }
  }
  return target;
}

function readLocalStack(path: string): LocalStackInfo {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalStackInfo;
  } catch (error) {
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

export interface ResolveDeps {
  env: Env;
  /** A deployed stack's outputs by key; errors are explained by the caller's wrapper. */
  stackOutputs(
    name: string,
    region: string | undefined,
    endpoint: string | undefined,
    profile?: string,
  ): Promise<{ outputs: Record<string, string | undefined>; region: string | undefined }>;
}

/**
 * Decides what `lcm` talks to: `--local` (the stack.json of a running `npm start`), `--stack`
 * (CloudFormation outputs), or explicit `--table`/`--queue-url`/`--dlq-url`/`--endpoint-url`.
 * With none of them, the local stack if one is running, else an error asking for `--stack`.
 */
export async function resolveTarget(args: TargetArgs, deps: ResolveDeps): Promise<Target> {
  const localPath = stackJsonPath(deps.env);
  const explicit = Boolean(args.table || args.queueUrl || args.dlqUrl);
  if (args.local) {
    if (!existsSync(localPath))
      throw new CliError(
        `No running local stack: start it with npm start (looked for ${localPath}).`,
      );
    return applyOverrides(localTarget(readLocalStack(localPath), localPath), args);
  }
  if (args.stack) {
    const { outputs, region } = await deps.stackOutputs(
      args.stack,
      args.region,
      args.endpointUrl,
      args.profile,
    );
    return applyOverrides(stackTarget(args.stack, outputs, region), args);
  }
  if (explicit) {
    return applyOverrides({ kind: 'explicit', description: 'the given resources' }, args);
  }
  if (existsSync(localPath))
    return applyOverrides(localTarget(readLocalStack(localPath), localPath), args);
  throw new UsageError(
    `No target: no local stack is running (${localPath} not found). Give --stack <name> for a deployed stack (or --table …), or start one with npm start.`,
  );
}

/** The table, or a clear error naming how to give it. */
export function requireTable(target: Target): string {
  if (target.tableName) return target.tableName;
  throw new CliError(
    `${target.description} names no table: give --table <name>${target.kind === 'stack' ? ` (the stack has no ${STACK_OUTPUTS.tableName} output)` : ''}.`,
  );
}

/** Both queues, or a clear error naming the missing one. */
export function requireQueues(target: Target): { queueUrl: string; deadLetterQueueUrl: string } {
  const missing = [
    target.queueUrl ? undefined : `--queue-url (output ${STACK_OUTPUTS.queueUrl})`,
    target.deadLetterQueueUrl
      ? undefined
      : `--dlq-url (output ${STACK_OUTPUTS.deadLetterQueueUrl})`,
  ].filter(Boolean);
  if (missing.length > 0)
    throw new CliError(`${target.description} names no queue: give ${missing.join(' and ')}.`);
  return {
    queueUrl: target.queueUrl as string,
    deadLetterQueueUrl: target.deadLetterQueueUrl as string,
  };
}

/**
 * SDK client settings for the target: region and profile, and endpoint and credentials for
 * emulators (explicit credentials win over the profile's).
 */
export function clientConfig(target: Target, endpoint: string | undefined) {
  return {
    ...(target.region ? { region: target.region } : {}),
    ...(target.profile ? { profile: target.profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  };
}

export function documentClient(target: Target): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient(clientConfig(target, target.dynamodbEndpoint)),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

export function sqsClient(target: Target): SQSClient {
  return new SQSClient({
    ...clientConfig(target, target.sqsEndpoint),
    // Emulators hand out queue URLs on hosts that need not resolve: talk to the endpoint instead.
    ...(target.sqsEndpoint ? { useQueueUrlAsEndpoint: false } : {}),
  });
}

/** CloudFormation `DescribeStacks` → the stack's outputs by key. */
export async function describeStackOutputs(
  name: string,
  region: string | undefined,
  endpoint: string | undefined,
  profile?: string,
): Promise<{ outputs: Record<string, string | undefined>; region: string | undefined }> {
  const client = new CloudFormationClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
  });
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = Stacks?.[0];
    if (!stack) throw new CliError(`Stack ${name} not found.`);
    return {
      outputs: Object.fromEntries(
        (stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue]),
      ),
      region: await client.config.region(),
    };
  } finally {
    client.destroy();
  }
}

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
]);

/** What an AWS call was for, to say which permission or resource is at fault. */
export interface AwsCall {
  /** IAM actions the step needs, e.g. `dynamodb:Query`. */
  actions: string[];
  /** The resource, for people: `table login-connect`. */
  resource: string;
  target: Target;
}

/**
 * Turns the SDK's errors into sentences an operator can act on: missing or rejected credentials,
 * a missing permission (naming it), a missing table, index, queue or stack, or an endpoint that
 * does not answer. Anything else passes through with its own message.
 */
export function explainAwsError(error: unknown, call: AwsCall): Error {
  if (error instanceof CliError || !(error instanceof Error)) return error as Error;
  const name = error.name;
  const code = (error as { code?: string }).code;
  const where = call.target.region ? ` in ${call.target.region}` : '';
  const detail = error.message.split('\n')[0] ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(error.message))
    return new CliError(
      'No AWS credentials found: pass --profile or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`.',
    );
  if (/Region is missing/i.test(error.message))
    return new CliError(
      'No AWS region: set AWS_REGION (or a region in your AWS profile), or pass --region.',
    );
  if (CREDENTIAL_ERRORS.has(name))
    return new CliError(
      `AWS did not accept the credentials (${name}): check AWS_PROFILE or the access keys, or refresh the session (\`aws sso login\`).`,
    );
  if (/AccessDenied|NotAuthorized|Unauthorized|AuthorizationError/i.test(name))
    return new CliError(
      `Access denied: these credentials may not ${call.actions.join(', ')} on ${call.resource}${where}. Ask for that permission, or use another AWS_PROFILE. (${detail})`,
    );
  if (name === 'ResourceNotFoundException')
    return new CliError(
      `Not found: ${call.resource}${where}. Check --table, --stack or AWS_REGION.`,
    );
  if (name === 'ValidationException' && /specified index/i.test(error.message))
    return new CliError(
      `${call.resource}${where} has no byOptinDay index: deploy the current stack (locally, restart npm start, which adds missing indexes).`,
    );
  if (/NonExistentQueue|QueueDoesNotExist/.test(name) || /NonExistentQueue/.test(code ?? ''))
    return new CliError(
      `Not found: ${call.resource}${where}. Check --queue-url, --dlq-url or --stack.`,
    );
  if (name === 'ValidationError' && /does not exist/.test(error.message))
    return new CliError(`Not found: ${call.resource}${where}. Check the name and AWS_REGION.`);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET')
    return new CliError(
      call.target.kind === 'local'
        ? `Cannot reach the local stack (${detail}): is npm start still running? Its stack.json may be left from a crash.`
        : `Cannot reach ${call.resource} (${detail}): check the network${call.target.dynamodbEndpoint || call.target.sqsEndpoint ? ' and --endpoint-url' : ''}.`,
    );
  return error;
}

/** Runs `step`, explaining its AWS errors in terms of `call`. */
export async function withAws<T>(call: AwsCall, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw explainAwsError(error, call);
  }
}
