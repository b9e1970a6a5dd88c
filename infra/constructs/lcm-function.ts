import * as path from 'node:path';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource, type SqsEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env';

const REPO_ROOT = path.join(__dirname, '..', '..');

/** The CloudWatch namespace of the functions' metrics (Powertools EMF). */
export const METRICS_NAMESPACE = 'LoginConnect';
/** The `service` dimension every metric of the functions carries. */
export const SERVICE_NAME = 'login-connect';

/** Memory of every function unless its props say otherwise (also what the benchmark prices). */
export const DEFAULT_MEMORY_SIZE_MB = 256;
/** The architecture every function runs on (also what the benchmark prices). */
export const FUNCTION_ARCHITECTURE = lambda.Architecture.ARM_64;

/** Environment every function gets unless the caller sets the same name. */
const DEFAULT_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  // Stack traces point at the TypeScript sources instead of the minified bundle.
  NODE_OPTIONS: '--enable-source-maps',
};

export interface LcmFunctionProps {
  /** Entry file name in `functions/`, without extension: `'webhook'` bundles `functions/webhook.ts`. */
  readonly entryName: string;
  /** Function description shown in the console. @default - no description */
  readonly description?: string;
  /** @default DEFAULT_MEMORY_SIZE_MB (256) */
  readonly memorySize?: number;
  /** Lambda timeout. */
  readonly timeout: Duration;
  /** Extra environment; merged over the defaults, so a caller's value always wins. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Extra esbuild options. Only `define` is accepted: the other bundling options are project
   * decisions made once, here.
   * @default - no defines
   */
  readonly bundling?: Pick<BundlingOptions, 'define'>;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A project Lambda: Node 22 on arm64, X-Ray tracing, a bundled and minified handler with source
 * maps, and its own log group with a retention. Its role starts with nothing but writing to that
 * log group. Grants are made through the `bind*` methods, which set the matching environment
 * variable in the same call, so access and configuration cannot drift.
 */
export class LcmFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LcmFunctionProps) {
    super(scope, id);

    // An explicit log group instead of `logRetention`, which deploys an extra custom-resource
    // Lambda just to set the retention after the fact.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // An own role instead of the default one with AWSLambdaBasicExecutionRole, which may create
    // and write any log group of the account: this one writes to its own log group only.
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'functions', `${props.entryName}.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: FUNCTION_ARCHITECTURE,
      tracing: lambda.Tracing.ACTIVE,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE_MB,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...DEFAULT_ENVIRONMENT, ...props.environment },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        // The AWS SDK is bundled on purpose instead of using the runtime's copy: the deployed code
        // then runs the exact SDK version the tests ran against (package-lock.json), not whatever
        // the runtime ships that month. Bundled and tree-shaken, it also starts faster than the
        // runtime's copy loaded from node_modules (measured: README, "The webhook and the bundles").
        externalModules: [],
        // The packages' ES module builds first: esbuild can leave out what a function does not
        // use (the SDK's CommonJS build cannot be tree-shaken). Measured with `npm run bench`:
        // the webhook's bundle 685 → 461 KiB, the others about 220 KiB smaller each.
        mainFields: ['module', 'main'],
        define: props.bundling?.define,
      },
    });

    // Active tracing has just added the X-Ray statement to the role's default policy.
    const defaultPolicy = this.role.node.findChild('DefaultPolicy').node
      .defaultChild as iam.CfnPolicy;
    Validations.of(defaultPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource "*": X-Ray ' +
        'supports no resource-level permissions for them. Every other statement of this ' +
        'policy names its resource (asserted in test/infra/pipeline-stack.test.ts).',
    });
    Validations.of(this.fn.node.defaultChild as lambda.CfnFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is chosen on purpose and is a supported Lambda runtime (Node.js 22 is an ' +
        'LTS line maintained upstream until April 2027). The esbuild target is pinned to it ' +
        'too; moving both to nodejs24.x is a change of its own, to be tested as such.',
    });
  }

  /** Sets an environment variable on the function. */
  addEnvironment(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /** Lets the function send to `queue`, but not receive or delete; sets `QUEUE_URL`. */
  bindQueueProducer(queue: sqs.IQueue): this {
    queue.grantSendMessages(this.fn);
    return this.addEnvironment(ENV.queueUrl, queue.queueUrl);
  }

  /**
   * Feeds the function from `queue`; sets `QUEUE_URL` so it can change a message's visibility.
   * The event source grants the consumer actions (receive, delete, change visibility, attributes).
   */
  bindQueueConsumer(queue: sqs.IQueue, options: SqsEventSourceProps): this {
    this.fn.addEventSource(new SqsEventSource(queue, options));
    return this.addEnvironment(ENV.queueUrl, queue.queueUrl);
  }

  /** Lets the function read `secret`; sets `SECRET_ARN` and how long to cache the value. */
  bindSecretReader(secret: secretsmanager.ISecret, maxAgeSeconds: number): this {
    secret.grantRead(this.fn);
    this.addEnvironment(ENV.secretArn, secret.secretArn);
    return this.addEnvironment(ENV.secretsMaxAgeSeconds, String(maxAgeSeconds));
  }

  /**
   * Grants exactly `actions` (e.g. `dynamodb:GetItem`) on `table`, and on the named `indexes`
   * only (never `index/*`); sets `TABLE_NAME`. Listing actions keeps out the Scan/Delete/Batch*
   * that `grantReadWriteData` adds.
   */
  bindTable(
    table: dynamodb.ITable,
    actions: readonly string[],
    indexes: readonly string[] = [],
  ): this {
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index}`)],
      }),
    );
    return this.addEnvironment(ENV.tableName, table.tableName);
  }
}
