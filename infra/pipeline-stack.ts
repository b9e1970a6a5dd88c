import {
  Aws,
  CfnOutput,
  type CfnOutputProps,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { API_ROUTES, PUBLIC_ROUTES } from '../shared/api/routes';
import { environmentFor } from '../shared/config';
import { ENV } from '../shared/env';
import type { FirstMessages } from '../shared/login-connect/first-message';
import type { Settings } from '../shared/settings';
import { STACK_OUTPUTS } from '../shared/stack-outputs';
import { TABLE_DEFINITION } from '../shared/store/table-definition';
import { AlarmTopic } from './constructs/alarm-topic';
import { FirewalledApi } from './constructs/firewalled-api';
import { LcmFunction } from './constructs/lcm-function';
import { Monitoring } from './constructs/monitoring';
import { denyOtherSecretReaders } from './constructs/secret-readers';
import { SendQueue } from './constructs/send-queue';
import { type PipelineApi, WebhookApi } from './constructs/webhook-api';

/**
 * The only DynamoDB actions the sender needs: no Scan, no BatchWrite. DeleteItem is for RESUME,
 * which deletes a STOP suppression (conditionally, only one that came from STOP).
 */
const SENDER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
  // A data deletion's second pass runs in the sender (see `EraseJob`).
  'dynamodb:BatchWriteItem',
] as const;

/** The API function also erases a person's records on Facebook's data deletion request. */
const API_TABLE_ACTIONS = SENDER_TABLE_ACTIONS;

/** The esbuild `define` key the sender reads its templates from (see `ENV.firstMessages`). */
const FIRST_MESSAGES_DEFINE = `process.env.${ENV.firstMessages}`;

export interface PipelineStackProps extends StackProps {
  /** Operator settings, already validated by `parseSettings`. */
  readonly settings: Settings;
  /** First-message templates, already validated; inlined into the sender bundle. */
  readonly firstMessages: FirstMessages;
}

/**
 * Webhook API → webhook Lambda → SQS → sender Lambda → DynamoDB, plus the secret both read, and
 * the alarms and dashboard that watch them.
 */
export class PipelineStack extends Stack {
  readonly webhookFn: LcmFunction;
  readonly senderFn: LcmFunction;
  readonly apiFn: LcmFunction;
  readonly sweeperFn: LcmFunction;
  readonly pageWatchFn: LcmFunction;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings, firstMessages } = props;
    // Opt-ins, locks and suppressions are the record of who was messaged: keep them (and the
    // queues and secret) when the stack is deleted, unless the operator marked it as throwaway.
    const removalPolicy = settings.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // Storage: one table, keys and TTL from the shared definition.
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_DEFINITION.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_DEFINITION.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_DEFINITION.timeToLiveAttribute,
      removalPolicy,
    });
    for (const index of TABLE_DEFINITION.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
      });
    }

    // Messaging: the send queue, its DLQ, and the secret holding the Meta credentials.
    const sendQueue = new SendQueue(this, 'Send', {
      retryPolicy: {
        baseSeconds: settings.sendRetryBaseSeconds,
        maxSeconds: settings.sendRetryMaxSeconds,
      },
      consumerTimeout: Duration.seconds(settings.senderTimeoutSeconds),
      removalPolicy,
    });
    const metaSecret = this.createMetaSecret(removalPolicy);

    // Functions: the webhook answers Facebook fast; the sender does the slow Send API calls.
    this.webhookFn = new LcmFunction(this, 'Webhook', {
      entryName: 'webhook',
      description: 'Checks Facebook webhook signatures and enqueues opt-ins',
      timeout: Duration.seconds(10),
      logRemovalPolicy: removalPolicy,
    });
    this.senderFn = new LcmFunction(this, 'Sender', {
      entryName: 'sender',
      description: 'Sends the first Messenger message of each opt-in',
      timeout: Duration.seconds(settings.senderTimeoutSeconds),
      logRemovalPolicy: removalPolicy,
      environment: environmentFor(settings, 'sender'),
      // Inlined at bundle time rather than set as an environment variable: Lambda caps the whole
      // environment at 4 KB, which a few rich templates would exceed. The double stringify makes
      // the define's value a JavaScript string literal holding the JSON.
      bundling: {
        define: { [FIRST_MESSAGES_DEFINE]: JSON.stringify(JSON.stringify(firstMessages)) },
      },
    });

    this.apiFn = new LcmFunction(this, 'Api', {
      entryName: 'api',
      description: 'Login events, opt-outs, follow-up messages and data deletion',
      timeout: Duration.seconds(15),
      logRemovalPolicy: removalPolicy,
      environment: environmentFor(settings, 'api'),
    });

    this.sweeperFn = new LcmFunction(this, 'Sweeper', {
      entryName: 'sweeper',
      description: 'Re-enqueues opt-ins nothing is working on; ends passed ones as expired',
      timeout: Duration.seconds(60),
      logRemovalPolicy: removalPolicy,
      environment: environmentFor(settings, 'sweeper'),
    });

    // A function of its own rather than a step of the sweeper: it calls Graph (two calls per
    // Page) and reads the secret, which the sweeper, the safety net of every opt-in, neither
    // needs nor should wait on or fail with; and it runs on its own, slower schedule.
    this.pageWatchFn = new LcmFunction(this, 'PageWatch', {
      entryName: 'page-watch',
      description: "Checks each Page's webhook subscription and opt-ins that stopped coming",
      timeout: Duration.minutes(5),
      logRemovalPolicy: removalPolicy,
      environment: environmentFor(settings, 'pageWatch'),
    });

    // Grants and wiring: each grant comes with the environment variable that points at it.
    this.webhookFn
      .bindQueueProducer(sendQueue.queue)
      .bindSecretReader(metaSecret, settings.secretsMaxAgeSeconds);
    this.senderFn
      // The pending index: a resumed Page's waiting opt-ins are queued again at once.
      .bindTable(table, SENDER_TABLE_ACTIONS, ['pending'])
      .bindSecretReader(metaSecret, settings.secretsMaxAgeSeconds)
      .bindQueueConsumer(sendQueue.queue, {
        batchSize: settings.senderBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: settings.senderMaxConcurrency,
      })
      // Hands over the record of a send DynamoDB would not take in time (a `sent` job).
      .bindQueueProducer(sendQueue.queue);
    this.apiFn
      .bindTable(table, API_TABLE_ACTIONS)
      .bindQueueProducer(sendQueue.queue)
      .bindSecretReader(metaSecret, settings.secretsMaxAgeSeconds);
    this.sweeperFn
      .bindTable(table, ['dynamodb:Query', 'dynamodb:UpdateItem'], ['pending'])
      .bindQueueProducer(sendQueue.queue);
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the sweeper: lost opt-ins are enqueued again while their window is open',
      schedule: events.Schedule.rate(Duration.minutes(settings.sweepIntervalMinutes)),
      targets: [new targets.LambdaFunction(this.sweeperFn.fn, { retryAttempts: 2 })],
    });
    // Page states (Query of their partition, UpdateItem) and recent opt-ins (byOptinDay).
    this.pageWatchFn
      .bindTable(table, ['dynamodb:Query', 'dynamodb:UpdateItem'], ['byOptinDay'])
      .bindSecretReader(metaSecret, settings.secretsMaxAgeSeconds);
    new events.Rule(this, 'PageWatchSchedule', {
      description: 'Runs the Page watchdog: webhook subscriptions, silent Pages, paused Pages',
      schedule: events.Schedule.rate(Duration.minutes(settings.pageWatch.intervalMinutes)),
      targets: [new targets.LambdaFunction(this.pageWatchFn.fn, { retryAttempts: 2 })],
    });
    // Opt-in, because a deny that forgets the operator's role would hide the verify token from
    // them (README, Configuring the Facebook app); without it, IAM alone decides, as usual.
    if (settings.secretReaderArns.length > 0) {
      denyOtherSecretReaders(metaSecret, [
        this.webhookFn.role.roleArn,
        this.senderFn.role.roleArn,
        this.apiFn.role.roleArn,
        this.pageWatchFn.role.roleArn,
        ...settings.secretReaderArns,
      ]);
    }

    // API: GET answers Facebook's subscription challenge, POST receives the events. Each route
    // has a throttle bucket of its own, so the business's routes cannot use up the webhook's.
    // With apiFirewall, the same routes on a REST API behind AWS WAF (README, Protecting the
    // API from floods).
    const webhookApi: PipelineApi = settings.apiFirewall.enabled
      ? new FirewalledApi(this, 'FirewalledApi', {
          handler: this.webhookFn.fn,
          throttle: settings.webhookThrottle,
          firewall: settings.apiFirewall,
          logRemovalPolicy: removalPolicy,
        })
      : new WebhookApi(this, 'WebhookApi', {
          handler: this.webhookFn.fn,
          throttle: settings.webhookThrottle,
          logRemovalPolicy: removalPolicy,
        });

    webhookApi.addLambdaRoutes('Api', API_ROUTES, this.apiFn.fn, {
      throttle: settings.apiThrottle,
      authentication:
        "The business's backend calls these routes with a bearer key from the secret's apiKeys; " +
        'the function compares it in constant time and answers 401 without one. Each route is ' +
        'throttled on its own.',
    });
    webhookApi.addLambdaRoutes('DataDeletion', PUBLIC_ROUTES, this.apiFn.fn, {
      throttle: settings.apiThrottle,
      authentication:
        "Facebook's data deletion callback: the function verifies the signed_request's " +
        'HMAC-SHA256 with the app secret (400 otherwise). The status route shows no personal ' +
        'data and needs the unguessable confirmation code.',
    });

    // Monitoring: alarms to an SNS topic the operator subscribes to at deploy time, a dashboard.
    const alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      email: this.alarmEmailParameter().valueAsString,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      topic: alarmTopic.topic,
      webhookFn: this.webhookFn.fn,
      senderFn: this.senderFn.fn,
      queue: sendQueue.queue,
      deadLetterQueue: sendQueue.deadLetterQueue,
      apiStage: webhookApi.stageMetrics,
      table,
      thresholds: settings.alarms,
      pageWatchInterval: Duration.minutes(settings.pageWatch.intervalMinutes),
    });

    // Outputs: what operators and the integration tests read after deploy. The record type makes
    // every key of STACK_OUTPUTS need an output here.
    const outputs: Record<keyof typeof STACK_OUTPUTS, CfnOutputProps> = {
      webhookUrl: {
        value: webhookApi.webhookUrl,
        description: 'Callback URL to enter in the Meta app webhook settings',
      },
      tableName: {
        value: table.tableName,
        description: 'DynamoDB table of opt-ins, locks, suppressions and events',
      },
      queueUrl: {
        value: sendQueue.queue.queueUrl,
        description: 'Queue of opt-ins waiting for their first message',
      },
      deadLetterQueueUrl: {
        value: sendQueue.deadLetterQueue.queueUrl,
        description: 'Messages the sender gave up on: inspect, then redrive or delete',
      },
      secretArn: {
        value: metaSecret.secretArn,
        description: 'Secret to fill with the app secret, verify token and Page access tokens',
      },
      alarmTopicArn: {
        value: alarmTopic.topic.topicArn,
        description: 'SNS topic the alarms notify: subscribe more endpoints to it',
      },
      dashboardUrl: {
        value:
          `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
          `#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
        description: 'CloudWatch dashboard with the figures behind the alarms',
      },
    };
    for (const [key, outputProps] of Object.entries(outputs)) {
      new CfnOutput(this, STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS], outputProps);
    }
  }

  /** `cdk deploy --parameters AlarmEmail=ops@example.com`; later deploys keep the value. */
  private alarmEmailParameter(): CfnParameter {
    return new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'must be an email address, or empty for no subscription',
      description: 'Email address that receives the alarms (confirm the subscription); empty: none',
    });
  }

  /** The secret both functions read; its id must never change (a new id is a new, empty secret). */
  private createMetaSecret(removalPolicy: RemovalPolicy): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'MetaSecret', {
      description:
        'Login Connect credentials. Put this JSON in: { "appSecret": "...", "verifyToken": "...", ' +
        '"pages": { "<PAGE_ID>": { "accessToken": "..." } }, ' +
        '"loginApp": { "appId": "...", "clientToken": "..." } }',
      // A random verifyToken so the webhook can be subscribed before anything else is filled in.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ appSecret: '', pages: {} }),
        generateStringKey: 'verifyToken',
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy,
    });
    Validations.of(secret.node.defaultChild as Construct).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Meta issues these values: the App Secret and Page access tokens are reset in the Meta ' +
        'app dashboard, and the verify token must change in the webhook settings at the same ' +
        'time, so no rotation Lambda can rotate them. The operator puts the new values; the ' +
        'functions pick them up within secretsMaxAgeSeconds (README, Deploying).',
    });
    return secret;
  }
}
