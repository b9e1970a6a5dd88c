import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { maxReceiveCountFor } from '../../infra/constructs/send-queue';
import { PipelineStack } from '../../infra/pipeline-stack';
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
  }),
  firstMessages,
});
const template = Template.fromStack(stack);
const assemblyDir = app.synth().directory;

// A throwaway variant with an aggressive retry policy, synthesized without bundling (no stack is
// selected for it), so it costs no esbuild run. parseSettings refuses such a policy; the construct
// is given it directly to prove its own guard.
const throwawayApp = new App({ context: { ...cdkJson.context, [BUNDLING_STACKS]: [] } });
const throwawayStack = new PipelineStack(throwawayApp, 'Throwaway', {
  settings: {
    ...parseSettings({ destroyOnRemoval: true }),
    sendRetryBaseSeconds: 1,
    sendRetryMaxSeconds: 1,
  },
  firstMessages,
});
const throwawayTemplate = Template.fromStack(throwawayStack);

const WEBHOOK_FN = stack.getLogicalId(stack.webhookFn.fn.node.defaultChild as CfnFunction);
const SENDER_FN = stack.getLogicalId(stack.senderFn.fn.node.defaultChild as CfnFunction);
const TABLE = Match.stringLikeRegexp('^Table');
const QUEUE = Match.stringLikeRegexp('^SendQueue');
const SECRET = Match.stringLikeRegexp('^MetaSecret');

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
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
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
      template.resourceCountIs('AWS::Lambda::Function', 2);
      template.resourceCountIs('AWS::Logs::LogGroup', 2);
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      const fns = template.findResources('AWS::Lambda::Function');
      for (const id of [WEBHOOK_FN, SENDER_FN]) {
        expect(fns[id]?.Properties.LoggingConfig.LogGroup).toEqual({
          Ref: expect.stringMatching(/LogGroup/),
        });
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

    it('lets the sender use exactly five DynamoDB actions on the table', () => {
      const dynamoActions = actionsOf(SENDER_FN).filter((action) => action.startsWith('dynamodb:'));
      expect(dynamoActions.sort()).toEqual([
        'dynamodb:ConditionCheckItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['dynamodb:PutItem']),
              Resource: { 'Fn::GetAtt': [TABLE, 'Arn'] },
            }),
          ]),
        },
      });
    });

    it('lets the sender consume and reschedule messages but never send them', () => {
      const actions = actionsOf(SENDER_FN);
      expect(actions).toEqual(
        expect.arrayContaining([
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'secretsmanager:GetSecretValue',
        ]),
      );
      expect(actions).not.toContain('sqs:SendMessage');
      expect(actions).not.toContain('dynamodb:Scan');
      expect(actions).not.toContain('dynamodb:DeleteItem');
      expect(actions).not.toContain('dynamodb:BatchWriteItem');
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
      template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /webhook' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhook' });
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': [WEBHOOK_FN, 'Arn'] },
      });
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
    it('exports the five outputs operators and tests read, each described', () => {
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
    });
  });

  describe('with destroyOnRemoval and an aggressive retry policy', () => {
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
