import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * One JSON line per request. Only API Gateway's own fields: no query string (the handshake's
 * carries the verify token), no headers (the POST's carry the signature) and no body.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  responseLength: '$context.responseLength',
};

/** The metrics of an API stage the alarms and the dashboard read, whichever kind of API. */
export interface ApiStageMetrics {
  metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}

export interface LambdaRouteOptions {
  /** How the function authenticates the requests API Gateway lets through, for cdk-nag. */
  readonly authentication: string;
  /** The routes' own limits, each route with its own bucket. */
  readonly throttle?: ThrottleSettings;
}

/**
 * What the stack needs of its API: this HTTP API by default, the REST API behind AWS WAF
 * (`FirewalledApi`) with `apiFirewall`.
 */
export interface PipelineApi {
  /** Full URL of the webhook route, to enter in the Meta app settings. */
  readonly webhookUrl: string;
  readonly stageMetrics: ApiStageMetrics;
  /**
   * Routes `routeKeys` (`'POST /logins'`, `'GET /messages/{id}'`) to `handler`. With `throttle`,
   * each route gets its own limits instead of the stage's.
   */
  addLambdaRoutes(
    id: string,
    routeKeys: readonly string[],
    handler: lambda.IFunction,
    options: LambdaRouteOptions,
  ): void;
}

export interface WebhookApiProps {
  /** Function answering both the subscription challenge (GET) and the events (POST). */
  readonly handler: lambda.IFunction;
  /** Request rate and burst limits of the default stage. */
  readonly throttle: ThrottleSettings;
  /** Path of the webhook route. @default '/webhook' */
  readonly path?: string;
  /** What happens to the access log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * HTTP API with `GET` and `POST` on the webhook path, served from a throttled default stage that
 * writes an access log.
 */
export class WebhookApi extends Construct implements PipelineApi {
  readonly api: HttpApi;
  /** The `$default` stage; its metrics carry the `ApiId` and `Stage` dimensions. */
  readonly stage: HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  /** Full URL of the webhook route, to enter in the Meta app settings. */
  readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    const path = props.path ?? '/webhook';

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Login Connect with Messenger webhook',
      // HttpApi cannot throttle the default stage it creates itself, so it is added below.
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const routes = this.api.addRoutes({
      path,
      methods: [HttpMethod.GET, HttpMethod.POST],
      integration: new HttpLambdaIntegration('Integration', props.handler),
    });
    for (const route of routes) {
      Validations.of(route.node.defaultChild as Construct).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Facebook calls this route and cannot present IAM, Cognito or JWT credentials. The ' +
          'function authenticates every request itself: POST bodies by their ' +
          'X-Hub-Signature-256 HMAC with the app secret (401 otherwise), the GET handshake by ' +
          'the verify token. The stage is throttled.',
      });
    }
    // The `$default` stage URL is the API root and ends with '/'.
    this.webhookUrl = `${this.stage.url}${path.slice(1)}`;
  }

  get stageMetrics(): HttpStage {
    return this.stage;
  }

  /**
   * Routes `routeKeys` (`'POST /logins'`, `'GET /messages/{id}'`) to `handler`. With `throttle`,
   * each route gets its own limits, below the stage's. `authentication` says, for cdk-nag, how
   * the function authenticates requests that API Gateway lets through.
   */
  addLambdaRoutes(
    id: string,
    routeKeys: readonly string[],
    handler: lambda.IFunction,
    options: LambdaRouteOptions,
  ): void {
    const integration = new HttpLambdaIntegration(`${id}Integration`, handler);
    for (const routeKey of routeKeys) {
      const [method, path = '/'] = routeKey.split(' ');
      const [route] = this.api.addRoutes({ path, methods: [method as HttpMethod], integration });
      if (route)
        Validations.of(route.node.defaultChild as Construct).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: options.authentication,
        });
      if (options.throttle) {
        this.routeSettings[routeKey] = {
          ThrottlingRateLimit: options.throttle.rateLimit,
          ThrottlingBurstLimit: options.throttle.burstLimit,
        };
      }
    }
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride(
      'RouteSettings',
      this.routeSettings,
    );
  }

  private readonly routeSettings: Record<
    string,
    { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }
  > = {};
}
