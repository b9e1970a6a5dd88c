import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { maxReceiveCountFor } from '../../infra/constructs/send-queue';
import { PipelineStack } from '../../infra/pipeline-stack';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api/routes';
import { ENV } from '../../shared/env';
import { readFirstMessagesFile } from '../../shared/login-connect/first-message';
import { maxAttemptsInWindow } from '../../shared/login-connect/retry';
import { parseSettings } from '../../shared/settings';
import { STACK_OUTPUTS } from '../../shared/stack-outputs';

const firstMessages = readFirstMessagesFile(
  path.join(__dirname, '..', '..', 'infra', 'first-messages.json'),
);
// The feature flags of cdk.json, so the test synthesizes what `cdk deploy` would (they change,
// for one, how IAM statements are merged).
const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));

// The stack under test. Its settings differ from both the settings defaults and the CDK defaults,
// so every assertion proves a setting was wired through rather than matching a default by chance.
// This is the one synth that bundles (esbuild, seconds); keep it the only one.
const app = new App({ context: cdkJson.context });
const stack = new PipelineStack(app, 'Test', {
  settings: parseSettings({
    senderTimeoutSeconds: 45,
    senderBatchSize: 7,
    senderMaxConcurrency: 3,
    sendRetryBaseSeconds: 60,
    sendRetryMaxSeconds: 1800,
    secretsMaxAgeSeconds: 120,
    webhookThrottle: { rateLimit: 50, burstLimit: 120 },
    alarms: { senderErrorRatePercent: 35, webhookServerErrorCount: 5 },
    pageBackoffBaseSeconds: 30,
    pageBackoffMaxSeconds: 1200,
    pageWatch: { intervalMinutes: 10, optinSilenceHours: 12 },
  }),
  firstMessages,
});
const template = Template.fromStack(stack);
const assemblyDir = app.synth().directory;

// A throwaway variant with an aggressive retry policy, synthesized without bundling (no stack is
// selected for it), so it costs no esbuild run. parseSettings refuses such a policy; the construct
// is given it directly to prove its own guard.
const throwawayApp = new App({ context: { ...cdkJson.context, [BUNDLING_STACKS]: [] } });
const OPS_ROLE =
  'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Ops_*';
const throwawayStack = new PipelineStack(throwawayApp, 'Throwaway', {
  settings: {
    ...parseSettings({ destroyOnRemoval: true, secretReaderArns: [OPS_ROLE] }),
    sendRetryBaseSeconds: 1,
    sendRetryMaxSeconds: 1,
  },
  firstMessages,
});
const throwawayTemplate = Template.fromStack(throwawayStack);

const WEBHOOK_FN = stack.getLogicalId(stack.webhookFn.fn.node.defaultChild as CfnFunction);
const SENDER_FN = stack.getLogicalId(stack.senderFn.fn.node.defaultChild as CfnFunction);
const API_FN = stack.getLogicalId(stack.apiFn.fn.node.defaultChild as CfnFunction);
const SWEEPER_FN = stack.getLogicalId(stack.sweeperFn.fn.node.defaultChild as CfnFunction);
const PAGE_WATCH_FN = stack.getLogicalId(stack.pageWatchFn.fn.node.defaultChild as CfnFunction);
const TABLE = Match.stringLikeRegexp('^Table');
const QUEUE = Match.stringLikeRegexp('^SendQueue');
const SECRET = Match.stringLikeRegexp('^MetaSecret');
const TOPIC = { Ref: expect.stringMatching(/^AlarmTopic[0-9A-F]{8}$/) };
const ALARMS = template.findResources('AWS::CloudWatch::Alarm');

/** The one alarm whose construct id is `id` (logical ids carry a hash suffix). */
function alarm(id: string): Record<string, unknown> {
  const matches = Object.entries(ALARMS).filter(([logicalId]) =>
    new RegExp(`^Monitoring${id}[0-9A-F]{8}$`).test(logicalId),
  );
  expect(matches).toHaveLength(1);
  return matches[0]?.[1].Properties;
}

/** An `Fn::Join` as text, each token written as `<token>`: enough to read a dashboard body. */
function joinedText(value: { 'Fn::Join': [string, unknown[]] }): string {
  const [separator, parts] = value['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : '<token>')).join(separator);
}

/** The role of a function, as synthesized. */
function roleOf(fnLogicalId: string): { logicalId: string; properties: Record<string, unknown> } {
  const role = template.findResources('AWS::Lambda::Function')[fnLogicalId]?.Properties.Role;
  const logicalId: string = role['Fn::GetAtt'][0];
  return { logicalId, properties: template.findResources('AWS::IAM::Role')[logicalId]?.Properties };
}

/** All IAM actions granted to a function's role, flattened. */
function actionsOf(fnLogicalId: string): string[] {
  const role = template.findResources('AWS::Lambda::Function')[fnLogicalId]?.Properties.Role;
  const roleLogicalId: string = role['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleLogicalId }] },
  });
  return Object.values(policies).flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.flatMap((statement: { Action: string | string[] }) =>
      [statement.Action].flat(),
    ),
  );
}

/** The staged asset folder of a function's code in the cloud assembly. */
function assetDirOf(fnLogicalId: string): string {
  const code = template.findResources('AWS::Lambda::Function')[fnLogicalId]?.Properties.Code;
  return path.join(assemblyDir, `asset.${String(code.S3Key).replace(/\.zip$/, '')}`);
}

/** The bundled `index.js` of a function, as deployed. */
function bundleOf(fnLogicalId: string): string {
  return readFileSync(path.join(assetDirOf(fnLogicalId), 'index.js'), 'utf8');
}

/** The environment variables of a function as synthesized. */
function environmentOf(fnLogicalId: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Function')[fnLogicalId]?.Properties.Environment
    .Variables;
}

describe('PipelineStack', () => {
  describe('storage', () => {
    it('keys the table on string pk and sk, billed per request, with PITR and TTL on expiresAt', () => {
      template.resourceCountIs('AWS::DynamoDB::Table', 1);
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('has the two sparse indexes of the shared definition, projecting everything', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byOptinDay',
            KeySchema: [
              { AttributeName: 'listPk', KeyType: 'HASH' },
              { AttributeName: 'listSk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'pending',
            KeySchema: [
              { AttributeName: 'sweepPk', KeyType: 'HASH' },
              { AttributeName: 'sweepAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      });
    });

    it('retains the table when the stack is deleted by default', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });
  });

  describe('messaging', () => {
    it('encrypts both queues with SQS-managed keys', () => {
      template.resourceCountIs('AWS::SQS::Queue', 2);
      const queues = Object.values(template.findResources('AWS::SQS::Queue'));
      for (const queue of queues) {
        expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      }
    });

    it('denies both queues to requests without TLS', () => {
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
      expect(policies).toHaveLength(2);
      for (const policy of policies) {
        expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
    });

    it('keeps dead letters for 14 days', () => {
      template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600 });
    });

    it('redrives after the scheduled retries plus the crash budget, and hides for 6x the sender timeout', () => {
      const expected = maxReceiveCountFor({ baseSeconds: 60, maxSeconds: 1800 });
      template.hasResourceProperties('AWS::SQS::Queue', {
        VisibilityTimeout: 6 * 45,
        RedrivePolicy: {
          deadLetterTargetArn: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^SendDeadLetterQueue'), 'Arn'],
          },
          maxReceiveCount: expected,
        },
      });
    });

    it('creates the secret with a generated verifyToken and the other keys empty', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Description: Match.stringLikeRegexp('"loginApp"'),
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ appSecret: '', pages: {} }),
          GenerateStringKey: 'verifyToken',
          ExcludePunctuation: true,
          PasswordLength: 32,
        },
      });
    });
  });

  describe('functions', () => {
    it('runs both functions on Node 22, arm64, with active tracing', () => {
      for (const id of [WEBHOOK_FN, SENDER_FN]) {
        const fn = template.findResources('AWS::Lambda::Function')[id];
        expect(fn?.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          MemorySize: 256,
        });
      }
    });

    it('gives the webhook 10 s and the sender the configured timeout', () => {
      const fns = template.findResources('AWS::Lambda::Function');
      expect(fns[WEBHOOK_FN]?.Properties.Timeout).toBe(10);
      expect(fns[SENDER_FN]?.Properties.Timeout).toBe(45);
    });

    it('logs each function to its own log group kept for a month, with no retention helper Lambda', () => {
      template.resourceCountIs('AWS::Lambda::Function', 5);
      // One per function, one for the API's access log.
      template.resourceCountIs('AWS::Logs::LogGroup', 6);
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      const fns = template.findResources('AWS::Lambda::Function');
      expect(fns[WEBHOOK_FN]?.Properties.LoggingConfig.LogGroup).toEqual({
        Ref: expect.stringMatching(/^WebhookLogGroup/),
      });
      expect(fns[SENDER_FN]?.Properties.LoggingConfig.LogGroup).toEqual({
        Ref: expect.stringMatching(/^SenderLogGroup/),
      });
    });

    it('gives the function roles no AWS managed policy', () => {
      for (const id of [WEBHOOK_FN, SENDER_FN]) {
        expect(roleOf(id).properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it('lets each function write logs to its own log group only', () => {
      for (const [id, logGroup] of [
        [WEBHOOK_FN, /^WebhookLogGroup/],
        [SENDER_FN, /^SenderLogGroup/],
      ] as const) {
        const policies = template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: roleOf(id).logicalId }] },
        });
        const logStatements = Object.values(policies)
          .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
          .filter((statement) =>
            [statement.Action].flat().some((a: string) => a.startsWith('logs:')),
          );
        expect(logStatements).toEqual([
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [expect.stringMatching(logGroup), 'Arn'] },
          },
        ]);
      }
    });

    it('points the webhook at the queue and the secret, and nothing else', () => {
      expect(environmentOf(WEBHOOK_FN)).toEqual({
        POWERTOOLS_SERVICE_NAME: 'login-connect',
        POWERTOOLS_METRICS_NAMESPACE: 'LoginConnect',
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.queueUrl]: { Ref: expect.stringMatching(/^SendQueue/) },
        [ENV.secretArn]: { Ref: expect.stringMatching(/^MetaSecret/) },
        [ENV.secretsMaxAgeSeconds]: '120',
      });
    });

    it('passes the sender its resources and every setting it reads', () => {
      expect(environmentOf(SENDER_FN)).toEqual({
        POWERTOOLS_SERVICE_NAME: 'login-connect',
        POWERTOOLS_METRICS_NAMESPACE: 'LoginConnect',
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.tableName]: { Ref: expect.stringMatching(/^Table/) },
        [ENV.queueUrl]: { Ref: expect.stringMatching(/^SendQueue/) },
        [ENV.secretArn]: { Ref: expect.stringMatching(/^MetaSecret/) },
        [ENV.secretsMaxAgeSeconds]: '120',
        [ENV.graphApiUrl]: 'https://graph.facebook.com',
        [ENV.graphApiVersion]: 'v25.0',
        [ENV.graphTimeoutSeconds]: '10',
        [ENV.sendRetryBaseSeconds]: '60',
        [ENV.sendRetryMaxSeconds]: '1800',
        [ENV.sendLeaseSeconds]: '50',
        [ENV.sendUnknownOutcome]: 'retry',
        [ENV.humanAgentEnabled]: 'false',
        [ENV.pageBackoffBaseSeconds]: '30',
        [ENV.pageBackoffMaxSeconds]: '1200',
        [ENV.optinRetentionDays]: '30',
        [ENV.lockRetentionDays]: '365',
        [ENV.suppressionRetentionDays]: '730',
        [ENV.eventRetentionDays]: '7',
      });
    });

    it('leaves the first-message templates out of the environment', () => {
      expect(environmentOf(SENDER_FN)).not.toHaveProperty(ENV.firstMessages);
    });

    it('inlines the validated templates into the sender bundle, not the webhook one', () => {
      // The longest stretch of the default text that no JS string escaping can alter.
      const text = firstMessages.default.message.text ?? '';
      const distinctive = text.split(/['"`\\$]/)[0] ?? '';
      expect(distinctive.length).toBeGreaterThan(20);

      expect(bundleOf(SENDER_FN).includes(distinctive)).toBe(true);
      expect(bundleOf(WEBHOOK_FN).includes(distinctive)).toBe(false);
    });

    it('bundles the AWS SDK into both functions instead of loading the runtime copy', () => {
      for (const id of [WEBHOOK_FN, SENDER_FN]) {
        const required = [...bundleOf(id).matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map(
          (match) => match[1],
        );
        // The CRT signer is an optional require inside a try/catch, only for SigV4a multi-region
        // signing, which nothing here uses; esbuild leaves such requires in place.
        expect(required.filter((name) => name !== '@aws-sdk/signature-v4-crt')).toEqual([]);
      }
    });

    it('ships a source map with each bundle', () => {
      for (const id of [WEBHOOK_FN, SENDER_FN]) {
        expect(existsSync(path.join(assetDirOf(id), 'index.js.map'))).toBe(true);
      }
    });
  });

  describe('grants and wiring', () => {
    it('lets the webhook send to the queue and read the secret, with no table access', () => {
      const actions = actionsOf(WEBHOOK_FN);
      expect(actions).toEqual(
        expect.arrayContaining(['sqs:SendMessage', 'secretsmanager:GetSecretValue']),
      );
      expect(actions.filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
      expect(actions).not.toContain('sqs:ReceiveMessage');
    });

    it('lets the sender use exactly eight DynamoDB actions on the table', () => {
      const dynamoActions = actionsOf(SENDER_FN).filter((action) => action.startsWith('dynamodb:'));
      expect(dynamoActions.sort()).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      // The table, and the pending index (a resumed Page's waiting opt-ins), nothing else.
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleOf(SENDER_FN).logicalId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['dynamodb:PutItem']),
              Resource: [
                { 'Fn::GetAtt': [TABLE, 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [TABLE, 'Arn'] }, '/index/pending']] },
              ],
            }),
          ]),
        },
      });
    });

    it('lets the sender consume and reschedule messages, and send only to hand over a record', () => {
      const actions = actionsOf(SENDER_FN);
      expect(actions).toEqual(
        expect.arrayContaining([
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'secretsmanager:GetSecretValue',
        ]),
      );
      expect(actions).toContain('sqs:SendMessage');
      expect(actions).not.toContain('sqs:PurgeQueue');
      expect(actions).not.toContain('dynamodb:Scan');
      // BatchWriteItem only for a data deletion's second pass (EraseJob); never a Scan.
    });

    it('lets the API function write the table (BatchWrite for data deletion) and send to the queue, not consume it', () => {
      const actions = actionsOf(API_FN);
      expect(actions.filter((action) => action.startsWith('dynamodb:')).sort()).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      expect(actions).toEqual(
        expect.arrayContaining(['sqs:SendMessage', 'secretsmanager:GetSecretValue']),
      );
      expect(actions).not.toContain('sqs:ReceiveMessage');
      expect(actions).not.toContain('dynamodb:Scan');
    });

    it('scopes the secret grant to the stack secret', () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
              Resource: { Ref: SECRET },
            }),
          ]),
        },
      });
    });

    it('feeds the sender from the queue with partial batch failures and a concurrency cap', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [QUEUE, 'Arn'] },
        FunctionName: { Ref: SENDER_FN },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 7,
        ScalingConfig: { MaximumConcurrency: 3 },
      });
    });
  });

  describe('API', () => {
    it('routes GET and POST /webhook to the webhook function', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /webhook' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhook' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': [WEBHOOK_FN, 'Arn'] },
      });
    });

    it('routes every API route to the API function, and nothing else', () => {
      const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
        (r) => r.Properties.RouteKey,
      );
      expect(routeKeys.sort()).toEqual(
        ['GET /webhook', 'POST /webhook', ...API_ROUTES, ...PUBLIC_ROUTES].sort(),
      );
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 3);
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationUri: { 'Fn::GetAtt': [API_FN, 'Arn'] },
      });
    });

    it('throttles each API route on its own, below the stage', () => {
      const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
      const routeSettings = stage?.Properties.RouteSettings;
      for (const route of [...API_ROUTES, ...PUBLIC_ROUTES]) {
        expect(routeSettings[route]).toEqual({
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        });
      }
      expect(routeSettings['POST /webhook']).toBeUndefined();
    });

    it('writes a JSON access log of each request without query strings, headers or bodies', () => {
      const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
      const settings = stage?.Properties.AccessLogSettings;
      expect(settings.DestinationArn).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^WebhookApiAccessLogGroup/), 'Arn'],
      });

      const format = JSON.parse(settings.Format);
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
      });
      // The handshake's query string carries the verify token; headers carry the signature.
      expect(settings.Format).not.toMatch(/querystring|header|body|\$input|\$context\.path/i);
    });

    it('throttles the auto-deployed default stage with the configured limits', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 120 },
      });
    });
  });

  describe('outputs', () => {
    it('exports every output operators and tests read, each described', () => {
      const outputs = template.findOutputs('*');
      expect(Object.keys(outputs).sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
      for (const output of Object.values(outputs)) {
        expect(output.Description).toEqual(expect.any(String));
      }
    });

    it('gives the webhook URL on the default stage, ending in /webhook', () => {
      template.hasOutput(STACK_OUTPUTS.webhookUrl, {
        Value: {
          'Fn::Join': [
            '',
            Match.arrayWith([
              'https://',
              { Ref: Match.stringLikeRegexp('^WebhookApiHttpApi') },
              '/webhook',
            ]),
          ],
        },
      });
    });

    it('points the resource outputs at the table, the queues and the secret', () => {
      template.hasOutput(STACK_OUTPUTS.tableName, { Value: { Ref: TABLE } });
      template.hasOutput(STACK_OUTPUTS.queueUrl, { Value: { Ref: QUEUE } });
      template.hasOutput(STACK_OUTPUTS.deadLetterQueueUrl, {
        Value: { Ref: Match.stringLikeRegexp('^SendDeadLetterQueue') },
      });
      template.hasOutput(STACK_OUTPUTS.secretArn, { Value: { Ref: SECRET } });
      template.hasOutput(STACK_OUTPUTS.alarmTopicArn, {
        Value: { Ref: Match.stringLikeRegexp('^AlarmTopic[0-9A-F]{8}$') },
      });
    });

    it('links the CloudWatch console page of the dashboard', () => {
      template.hasOutput(STACK_OUTPUTS.dashboardUrl, {
        Value: {
          'Fn::Join': [
            '',
            [
              'https://console.aws.amazon.com/cloudwatch/home?region=',
              { Ref: 'AWS::Region' },
              '#dashboards:name=',
              { Ref: Match.stringLikeRegexp('^MonitoringDashboard') },
            ],
          ],
        },
      });
    });
  });

  describe('monitoring', () => {
    it('notifies the alarm topic of every alarm firing and clearing, and ignores missing data', () => {
      expect(Object.keys(ALARMS)).toHaveLength(14);
      // The watchdog's figures come once a run: a period without a run keeps the alarm's state.
      const watched = /^Monitoring(PagePaused|PageSubscriptionMissing|PageOptinsSilent)/;
      for (const [logicalId, { Properties }] of Object.entries(ALARMS)) {
        expect(Properties).toMatchObject({
          AlarmActions: [TOPIC],
          OKActions: [TOPIC],
          TreatMissingData: watched.test(logicalId) ? 'ignore' : 'notBreaching',
        });
        // What it means and what to do: a few sentences, not a title.
        expect(Properties.AlarmDescription.length).toBeGreaterThan(150);
      }
    });

    it('alarms as soon as the dead-letter queue holds a message', () => {
      expect(alarm('DeadLetterQueueNotEmpty')).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [expect.stringMatching(/^SendDeadLetterQueue/), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
        Period: 300,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
      });
    });

    it.each([
      'OptinExpired',
      'PageTokenInvalid',
      'PageRestricted',
      'WebhookErrors',
      'SendOutcomeUnknown',
      'DuplicateSendDetected',
      'SendNotRecorded',
    ])('alarms on a single %s in five minutes', (metricName) => {
      expect(alarm(metricName)).toMatchObject({
        Namespace: 'LoginConnect',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: 'login-connect' }],
        Statistic: 'Sum',
        Period: 300,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
      });
    });

    it.each([
      ['PagePaused', 'PagesPaused', 'Maximum'],
      ['PageSubscriptionMissing', 'PageSubscriptionMissing', 'Sum'],
      ['PageOptinsSilent', 'PageOptinsSilent', 'Sum'],
    ])(
      'alarms on the watchdog figure behind %s over its run interval',
      (id, metricName, statistic) => {
        expect(alarm(id)).toMatchObject({
          Namespace: 'LoginConnect',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'login-connect' }],
          Statistic: statistic,
          Period: 600,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 1,
          EvaluationPeriods: 1,
          TreatMissingData: 'ignore',
        });
      },
    );

    it('alarms when the Send API error rate stays above the configured percent for 15 minutes', () => {
      const properties = alarm('SenderErrorRate');
      expect(properties).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 35,
        EvaluationPeriods: 3,
      });
      const queries = properties.Metrics as {
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string; Dimensions: unknown }; Stat: string };
        ReturnData?: boolean;
      }[];
      expect(queries.find((query) => query.ReturnData)?.Expression).toBe(
        'IF(attempts > 0, 100 * FILL(errors, 0) / attempts, 0)',
      );
      expect(queries.find((query) => query.Id === 'attempts')?.Expression).toBe(
        'FILL(errors, 0) + FILL(sent, 0) + FILL(followups, 0)',
      );
      // Alarms refuse SEARCH: the errors are the SendError total the sender emits per service.
      for (const [id, metricName] of [
        ['errors', 'SendError'],
        ['sent', 'FirstMessageSent'],
      ]) {
        expect(queries.find((query) => query.Id === id)?.MetricStat).toMatchObject({
          Metric: {
            MetricName: metricName,
            Dimensions: [{ Name: 'service', Value: 'login-connect' }],
          },
          Stat: 'Sum',
          Period: 300,
        });
      }
      expect(JSON.stringify(queries)).not.toContain('SEARCH');
    });

    it('alarms when sender invocations fail in two periods in a row', () => {
      expect(alarm('SenderInvocationErrors')).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: SENDER_FN } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 2,
      });
    });

    it('alarms on the configured count of 5xx answers of the webhook API stage', () => {
      expect(alarm('Webhook5xx')).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Dimensions: [
          { Name: 'ApiId', Value: { Ref: expect.stringMatching(/^WebhookApiHttpApi/) } },
          { Name: 'Stage', Value: '$default' },
        ],
        Statistic: 'Sum',
        Period: 300,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 5,
      });
    });

    it('encrypts the alarm topic with its own rotated key and refuses publishing without TLS', () => {
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmTopicKey'), 'Arn'] },
      });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('lets CloudWatch alarms of this account publish to the topic and use its key', () => {
      const cloudWatch = { Service: 'cloudwatch.amazonaws.com' };
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: cloudWatch,
              Action: 'sns:Publish',
              Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: cloudWatch,
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Condition: {
                StringLike: { 'kms:EncryptionContext:aws:sns:topicArn': Match.anyValue() },
              },
            }),
          ]),
        },
      });
    });

    it('takes the alarm email as an optional String parameter, empty by default', () => {
      template.hasParameter('AlarmEmail', { Type: 'String', Default: '' });
    });

    it('subscribes the AlarmEmail address to the topic only when it is not empty', () => {
      const subscriptions = template.findResources('AWS::SNS::Subscription');
      expect(Object.values(subscriptions)).toEqual([
        expect.objectContaining({
          Condition: expect.any(String),
          Properties: { Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' }, TopicArn: TOPIC },
        }),
      ]);
      const condition = Object.values(subscriptions)[0]?.Condition;
      template.hasCondition(condition, {
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }],
      });
    });

    it('graphs the figures behind the alarms on one dashboard, with the alarms on top', () => {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
      const body: {
        widgets: { type: string; properties: { alarms?: unknown[]; metrics?: unknown[][] } }[];
      } = JSON.parse(joinedText(dashboard?.Properties.DashboardBody));
      // A metric line is [namespace, name, ...dimensions, options] or [{ expression }].
      const graphed = body.widgets.flatMap((widget) =>
        (widget.properties.metrics ?? []).map((line) =>
          typeof line[0] === 'string' ? `${line[0]} ${line[1]}` : JSON.stringify(line[0]),
        ),
      );

      expect(body.widgets[0]?.type).toBe('alarm');
      expect(body.widgets[0]?.properties.alarms).toHaveLength(14);
      for (const metricName of [
        'OptinsReceived',
        'FirstMessageSent',
        'OptinToSendLatency',
        'OptinExpired',
        'OptinOptedOut',
        'OptinPageLocked',
        'OptinFailed',
        'PageTokenInvalid',
        'SignatureRejected',
        'SendRetryScheduled',
        'PagesPaused',
        'PageRestricted',
        'PageRateLimited',
        'SendDeferredPagePaused',
        'PageSubscriptionMissing',
        'PageOptinsSilent',
      ]) {
        expect(graphed).toContain(`LoginConnect ${metricName}`);
      }
      for (const line of [
        'AWS/SQS ApproximateNumberOfMessagesVisible',
        'AWS/SQS ApproximateAgeOfOldestMessage',
        'AWS/ApiGateway 5xx',
        'AWS/ApiGateway Latency',
        'AWS/Lambda Errors',
        'AWS/Lambda Throttles',
        'AWS/Lambda Duration',
      ]) {
        expect(graphed).toContain(line);
      }
      expect(graphed.join('\n')).toContain(
        `SEARCH('{LoginConnect,code,service} MetricName=\\"SendError\\"`,
      );
      expect(JSON.stringify(body)).toContain('"stat":"p99"');
    });
  });

  describe('security checks', () => {
    const acknowledgements = stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
            id: id.replace(/^annotation::/i, ''),
            reason,
            construct,
          })),
        ),
    );

    it('leaves no cdk-nag AwsSolutions finding unacknowledged, error or warning', () => {
      const report = new AwsSolutionsChecks(app).validateScope(stack);

      expect(report.violations).toEqual([]);
    });

    it('acknowledges only known findings, each on a single resource, each with a reason', () => {
      expect(
        acknowledgements.map(({ id, construct }) => `${id} ${construct.node.path}`).sort(),
      ).toEqual([
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/GET--facebook--data-deletion--{code}/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/GET--messages--{id}/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/GET--webhook/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/POST--facebook--data-deletion/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/POST--logins/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/POST--messages/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/POST--optouts/Resource',
        'AwsSolutions-APIG4 Test/WebhookApi/HttpApi/POST--webhook/Resource',
        'AwsSolutions-IAM5[Resource::*] Test/Api/ServiceRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] Test/PageWatch/ServiceRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] Test/Sender/ServiceRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] Test/Sweeper/ServiceRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] Test/Webhook/ServiceRole/DefaultPolicy/Resource',
        'AwsSolutions-L1 Test/Api/Function/Resource',
        'AwsSolutions-L1 Test/PageWatch/Function/Resource',
        'AwsSolutions-L1 Test/Sender/Function/Resource',
        'AwsSolutions-L1 Test/Sweeper/Function/Resource',
        'AwsSolutions-L1 Test/Webhook/Function/Resource',
        'AwsSolutions-SMG4 Test/MetaSecret/Resource',
      ]);
      for (const { reason, construct } of acknowledgements) {
        expect(construct).toBeInstanceOf(CfnResource);
        expect(reason.trim().length).toBeGreaterThan(80);
      }
    });

    it('grants Resource "*" only for the X-Ray actions, which have no resource-level permissions', () => {
      const wildcardActions = Object.values(template.findResources('AWS::IAM::Policy'))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
        .filter((statement) => [statement.Resource].flat().includes('*'))
        .flatMap((statement) => [statement.Action].flat());

      expect([...new Set(wildcardActions)].sort()).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    });

    it('runs the sweeper on a schedule, letting it query only the pending index and update the table', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [SWEEPER_FN, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 2 },
          }),
        ],
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['dynamodb:Query', 'dynamodb:UpdateItem'],
              Resource: [
                { 'Fn::GetAtt': [TABLE, 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [TABLE, 'Arn'] }, '/index/pending']] },
              ],
            }),
          ]),
        },
      });
      const sweeperActions = actionsOf(SWEEPER_FN);
      expect(sweeperActions).toContain('sqs:SendMessage');
      expect(sweeperActions).not.toContain('secretsmanager:GetSecretValue');
      expect(
        template.findResources('AWS::Lambda::Function')[SWEEPER_FN]?.Properties.Environment
          .Variables,
      ).toMatchObject({
        [ENV.sweepGraceSeconds]: String(45 * 6 + 60),
      });
    });

    it('runs the Page watchdog on its own schedule, reading Page states, recent opt-ins and the secret', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(10 minutes)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [PAGE_WATCH_FN, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 2 },
          }),
        ],
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleOf(PAGE_WATCH_FN).logicalId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['dynamodb:Query', 'dynamodb:UpdateItem'],
              Resource: [
                { 'Fn::GetAtt': [TABLE, 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [TABLE, 'Arn'] }, '/index/byOptinDay']] },
              ],
            }),
          ]),
        },
      });
      const actions = actionsOf(PAGE_WATCH_FN);
      expect(actions).toContain('secretsmanager:GetSecretValue');
      expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      expect(environmentOf(PAGE_WATCH_FN)).toMatchObject({
        [ENV.pageWatchIntervalSeconds]: '600',
        [ENV.pageOptinSilenceSeconds]: String(12 * 3600),
        [ENV.graphApiUrl]: 'https://graph.facebook.com',
        [ENV.secretsMaxAgeSeconds]: '120',
      });
      expect(
        template.findResources('AWS::Lambda::Function')[PAGE_WATCH_FN]?.Properties.Timeout,
      ).toBe(300);
    });

    it('leaves reading the secret to IAM when no secret readers are named', () => {
      template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
    });
  });

  describe('with destroyOnRemoval, an aggressive retry policy and named secret readers', () => {
    it('denies reading the secret value to everyone but the four functions and the named readers', () => {
      throwawayTemplate.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
      throwawayTemplate.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
        SecretId: { Ref: SECRET },
        ResourcePolicy: {
          Statement: [
            {
              Sid: Match.anyValue(),
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
              Condition: {
                ArnNotLike: {
                  'aws:PrincipalArn': [
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookServiceRole'), 'Arn'] },
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('^SenderServiceRole'), 'Arn'] },
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiServiceRole'), 'Arn'] },
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('^PageWatchServiceRole'), 'Arn'] },
                    OPS_ROLE,
                  ],
                },
              },
            },
          ],
        },
      });
    });

    it.each([
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::SecretsManager::Secret',
      'AWS::Logs::LogGroup',
    ])('deletes every %s with the stack', (type) => {
      const resources = Object.values(throwawayTemplate.findResources(type));

      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) {
        expect(resource.DeletionPolicy).toBe('Delete');
      }
    });

    it('caps maxReceiveCount at the SQS limit and warns at synth', () => {
      throwawayTemplate.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.objectLike({ maxReceiveCount: 1000 }),
      });
      Annotations.fromStack(throwawayStack).hasWarning(
        '/Throwaway/Send',
        Match.stringLikeRegexp('caps maxReceiveCount at 1000'),
      );
    });
  });
});

describe('maxReceiveCountFor()', () => {
  it('allows every scheduled attempt plus 10 unscheduled receives', () => {
    const policy = { baseSeconds: 30, maxSeconds: 900 };

    expect(maxReceiveCountFor(policy)).toBe(maxAttemptsInWindow(policy) + 10);
  });

  it('stays within the SQS limit of 1000 for an aggressive policy', () => {
    expect(maxReceiveCountFor({ baseSeconds: 1, maxSeconds: 1 })).toBe(1000);
  });
});
