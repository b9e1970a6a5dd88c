import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetArgs } from '../../../infra/cli/args';
import { CliError, UsageError } from '../../../infra/cli/errors';
import {
  documentClient,
  explainAwsError,
  requireQueues,
  requireTable,
  resolveTarget,
  sqsClient,
  type Target,
} from '../../../infra/cli/target';

const LOCAL_INFO = {
  tableName: 'login-connect',
  queueUrl: 'http://sqs.us-east-1.localhost:9324/000000000000/login-connect-jobs',
  deadLetterQueueUrl: 'http://sqs.us-east-1.localhost:9324/000000000000/login-connect-dlq',
  dynamodbEndpoint: 'http://127.0.0.1:8000',
  sqsEndpoint: 'http://127.0.0.1:9324',
  region: 'us-east-1',
};
const OUTPUTS = {
  TableName: 'LoginConnect-Table-ABC',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123/LoginConnect-Send',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123/LoginConnect-Dlq',
};

let dataDir: string;
const args = (overrides: Partial<TargetArgs> = {}): TargetArgs => ({ local: false, ...overrides });
const stackOutputs = jest.fn(async () => ({ outputs: OUTPUTS, region: 'eu-west-1' }));
const resolve = (target: TargetArgs) =>
  resolveTarget(target, { env: { LCM_DATA_DIR: dataDir }, stackOutputs });
const writeStackJson = () => writeFileSync(join(dataDir, 'stack.json'), JSON.stringify(LOCAL_INFO));

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lcm-cli-'));
  stackOutputs.mockClear();
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('cli/target', () => {
  describe('resolveTarget()', () => {
    it('reads the running local stack with --local, with dummy credentials for the emulators', async () => {
      writeStackJson();

      const target = await resolve(args({ local: true }));

      expect(target).toMatchObject({
        kind: 'local',
        tableName: 'login-connect',
        queueUrl: LOCAL_INFO.queueUrl,
        deadLetterQueueUrl: LOCAL_INFO.deadLetterQueueUrl,
        dynamodbEndpoint: 'http://127.0.0.1:8000',
        sqsEndpoint: 'http://127.0.0.1:9324',
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
    });

    it('says to start the stack when --local finds no stack.json', async () => {
      await expect(resolve(args({ local: true }))).rejects.toThrow(
        'No running local stack: start it with npm start',
      );
    });

    it('picks the local stack by default while one runs', async () => {
      writeStackJson();

      await expect(resolve(args())).resolves.toMatchObject({ kind: 'local' });
    });

    it('asks for --stack by default when no local stack runs', async () => {
      const attempt = resolve(args());

      await expect(attempt).rejects.toThrow(UsageError);
      await expect(attempt).rejects.toThrow(/Give --stack <name>/);
    });

    it("takes a deployed stack's outputs with --stack, and explicit flags over them", async () => {
      const target = await resolve(args({ stack: 'LoginConnect', table: 'Other' }));

      expect(stackOutputs).toHaveBeenCalledWith('LoginConnect', undefined, undefined, undefined);
      expect(target).toEqual({
        kind: 'stack',
        description: 'stack LoginConnect (eu-west-1)',
        tableName: 'Other',
        queueUrl: OUTPUTS.QueueUrl,
        deadLetterQueueUrl: OUTPUTS.DeadLetterQueueUrl,
        region: 'eu-west-1',
      });
    });

    it('supplies dummy credentials and a region for an explicit loopback endpoint only', async () => {
      const local = await resolve(args({ table: 't', endpointUrl: 'http://localhost:8000' }));
      const remote = await resolve(args({ table: 't', endpointUrl: 'https://vpce.example.com' }));

      expect(local).toMatchObject({
        kind: 'explicit',
        dynamodbEndpoint: 'http://localhost:8000',
        sqsEndpoint: 'http://localhost:8000',
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      expect(remote.credentials).toBeUndefined();
      expect(remote.region).toBeUndefined();
    });
  });

  describe('requireTable() and requireQueues()', () => {
    it('names the flag and the stack output that are missing', () => {
      const target: Target = { kind: 'stack', description: 'stack S', queueUrl: 'q' };

      expect(() => requireTable(target)).toThrow(
        'stack S names no table: give --table <name> (the stack has no TableName output).',
      );
      expect(() => requireQueues(target)).toThrow(
        'stack S names no queue: give --dlq-url (output DeadLetterQueueUrl).',
      );
    });
  });

  describe('explainAwsError()', () => {
    const target: Target = { kind: 'stack', description: 'stack S', region: 'eu-west-1' };
    const call = { actions: ['dynamodb:Query'], resource: 'table T', target };
    const awsError = (name: string, message = 'detail', code?: string) =>
      Object.assign(new Error(message), { name, ...(code ? { code } : {}) });

    it('names the permission and the resource when access is denied', () => {
      const explained = explainAwsError(
        awsError('AccessDeniedException', 'User: arn:aws:iam::1:user/op is not authorized'),
        call,
      );

      expect(explained).toBeInstanceOf(CliError);
      expect(explained.message).toBe(
        'Access denied: these credentials may not dynamodb:Query on table T in eu-west-1. Ask for that permission, or use another AWS_PROFILE. (User: arn:aws:iam::1:user/op is not authorized)',
      );
    });

    it.each([
      [
        'UnrecognizedClientException',
        /did not accept the credentials \(UnrecognizedClientException\)/,
      ],
      ['ExpiredTokenException', /refresh the session/],
      ['CredentialsProviderError', /No AWS credentials found: pass --profile or set AWS_PROFILE/],
      ['ResourceNotFoundException', /Not found: table T in eu-west-1/],
    ])('explains %s', (name, message) => {
      expect(explainAwsError(awsError(name), call).message).toMatch(message);
    });

    it('explains a missing stack, region and index', () => {
      const stackCall = { ...call, resource: 'stack S' };

      expect(
        explainAwsError(awsError('ValidationError', 'Stack with id S does not exist'), stackCall)
          .message,
      ).toBe('Not found: stack S in eu-west-1. Check the name and AWS_REGION.');
      expect(explainAwsError(new Error('Region is missing'), call).message).toMatch(
        /No AWS region: set AWS_REGION/,
      );
      expect(
        explainAwsError(
          awsError(
            'ValidationException',
            'The table does not have the specified index: byOptinDay',
          ),
          call,
        ).message,
      ).toMatch(/has no byOptinDay index/);
    });

    it('asks whether npm start still runs when the local stack does not answer', () => {
      const local = { ...call, target: { kind: 'local' as const, description: 'local' } };

      expect(
        explainAwsError(
          awsError('Error', 'connect ECONNREFUSED 127.0.0.1:8000', 'ECONNREFUSED'),
          local,
        ).message,
      ).toMatch(/is npm start still running\?/);
    });

    it('passes other errors through unchanged', () => {
      const other = awsError('ProvisionedThroughputExceededException');

      expect(explainAwsError(other, call)).toBe(other);
    });
  });
});

describe('cli/target --profile', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('gives the SDK clients the profile, whose credentials and region they then use', async () => {
    // Arrange: a shared config with two profiles, and AWS_PROFILE naming the other one.
    const dir = mkdtempSync(join(tmpdir(), 'lcm-profile-'));
    const credentials = join(dir, 'credentials');
    const config = join(dir, 'config');
    writeFileSync(
      credentials,
      '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s2\n',
    );
    writeFileSync(config, '[default]\nregion = us-east-1\n[profile ops]\nregion = eu-west-3\n');
    for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
    process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
    process.env.AWS_CONFIG_FILE = config;
    process.env.AWS_PROFILE = 'default';
    const target: Target = { kind: 'stack', description: 'stack S', profile: 'ops' };

    // Act
    const doc = documentClient(target);
    const sqs = sqsClient(target);
    const docCredentials = await doc.config.credentials();
    const sqsRegion = await sqs.config.region();

    // Assert
    expect(docCredentials.accessKeyId).toBe('AKIDOPS');
    expect(await doc.config.region()).toBe('eu-west-3');
    expect(sqsRegion).toBe('eu-west-3');
    doc.destroy();
    sqs.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
});
