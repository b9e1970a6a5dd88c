import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { Settings } from '../../shared/settings';
import type { LambdaRouteOptions, PipelineApi } from './webhook-api';

/** The REST API's stage: its URLs are `https://<id>.execute-api.<region>.amazonaws.com/prod/…`. */
export const FIREWALLED_STAGE_NAME = 'prod';

/** How far back the rate rules count an address's requests (WAF allows 60, 120, 300, 600). */
export const RATE_WINDOW_SECONDS = 60;

/**
 * The access log of the REST API: the HTTP API's fields under the same names, plus AWS WAF's
 * verdict. Still no query string (the handshake's carries the verify token), no headers (the
 * POST's carry the signature) and no body.
 */
export const REST_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.httpMethod $context.resourcePath',
  status: '$context.status',
  latency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integration.error',
  error: '$context.error.message',
  responseLength: '$context.responseLength',
  waf: '$context.wafResponseCode',
};

export interface FirewalledApiProps {
  /** Function answering both the subscription challenge (GET) and the events (POST). */
  readonly handler: lambda.IFunction;
  /** Request rate and burst limits of each method that has none of its own. */
  readonly throttle: ThrottleSettings;
  /** The per-address limits of the web ACL. */
  readonly firewall: Settings['apiFirewall'];
  /** Path of the webhook route. @default '/webhook' */
  readonly path?: string;
  /** What happens to the access log group when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The API behind AWS WAF, for `apiFirewall`: HTTP APIs cannot be associated with a web ACL, so
 * this is a regional REST API with the same routes, Lambda proxy integrations and per-method
 * throttles, and a regional web ACL that rate-limits each client IP address. Regional, not
 * CloudFront: a distribution in front would leave the `execute-api` URL open to go around it.
 */
export class FirewalledApi extends Construct implements PipelineApi {
  readonly api: apigateway.RestApi;
  readonly stage: apigateway.Stage;
  readonly webAcl: wafv2.CfnWebACL;
  readonly accessLogGroup: logs.LogGroup;
  readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: FirewalledApiProps) {
    super(scope, id);
    const path = props.path ?? '/webhook';

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy,
    });
    this.api = new apigateway.RestApi(this, 'RestApi', {
      // The name is the `ApiName` dimension of the API's metrics: one per stack, so two
      // deployments in an account never share an alarm's figures.
      restApiName: `${Stack.of(this).stackName}-${id}`,
      description: 'Login Connect with Messenger webhook and API, behind AWS WAF',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Every body is binary to API Gateway, so it reaches the functions base64-encoded and
      // byte for byte: the webhook signature covers Facebook's exact bytes. Answers that are
      // not marked base64 go back as they are.
      binaryMediaTypes: ['*/*'],
      // REST APIs log through an account-wide role (the HTTP API needs none). It is kept when
      // the stack is deleted, since other REST APIs of the account and Region may rely on it.
      cloudWatchRole: true,
      deployOptions: {
        stageName: FIREWALLED_STAGE_NAME,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        // Errors only, without bodies: what API Gateway itself could not do (cdk-nag APIG6).
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(REST_ACCESS_LOG_FIELDS)),
      },
    });
    this.stage = this.api.deploymentStage;
    // The stack's own outputs name the URLs (STACK_OUTPUTS), the same with either kind of API.
    this.api.node.tryRemoveChild('Endpoint');
    acknowledge(this.api, 'AwsSolutions-APIG2', [
      'Request validation stays in the functions: the webhook must check the signature over the ',
      'raw bytes before anything parses them, and each API route parses its body with the zod ',
      'schema shared with the local stack, answering 400 with the reason.',
    ]);
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole)
      acknowledge(
        cloudWatchRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        [
          "API Gateway's account-wide logging role: AWS's managed policy for exactly that, ",
          'which AWS keeps up to date with the log actions API Gateway needs.',
        ],
      );

    const integration = new apigateway.LambdaIntegration(props.handler, { allowTestInvoke: false });
    const webhook = this.api.root.resourceForPath(path);
    for (const method of ['GET', 'POST']) {
      acknowledgeOpenMethod(webhook.addMethod(method, integration), [
        'Facebook calls this route and cannot present IAM, Cognito or JWT credentials. The ',
        'function authenticates every request itself: POST bodies by their X-Hub-Signature-256 ',
        'HMAC with the app secret (401 otherwise), the GET handshake by the verify token. The ',
        'method is throttled, and the web ACL limits each IP address.',
      ]);
    }

    this.webAcl = this.createWebAcl(id, path, props.firewall);
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    this.webhookUrl = this.stage.urlForPath(path);
  }

  /** The stage carries the `ApiName` and `Stage` dimensions of the 4XX, 5XX and latency metrics. */
  get stageMetrics(): apigateway.Stage {
    return this.stage;
  }

  addLambdaRoutes(
    _id: string,
    routeKeys: readonly string[],
    handler: lambda.IFunction,
    options: LambdaRouteOptions,
  ): void {
    const integration = new apigateway.LambdaIntegration(handler, { allowTestInvoke: false });
    const methodSettings: apigateway.CfnStage.MethodSettingProperty[] = [];
    for (const routeKey of routeKeys) {
      const [method = 'GET', path = '/'] = routeKey.split(' ');
      acknowledgeOpenMethod(this.api.root.resourceForPath(path).addMethod(method, integration), [
        options.authentication,
      ]);
      if (options.throttle) {
        methodSettings.push({
          // `~1` is how a method setting writes the slashes of its resource path.
          resourcePath: `/${path.replace(/\//g, '~1')}`,
          httpMethod: method,
          throttlingRateLimit: options.throttle.rateLimit,
          throttlingBurstLimit: options.throttle.burstLimit,
          loggingLevel: apigateway.MethodLoggingLevel.ERROR,
          dataTraceEnabled: false,
          metricsEnabled: false,
        });
      }
    }
    const cfnStage = this.stage.node.defaultChild as apigateway.CfnStage;
    cfnStage.methodSettings = [
      ...((cfnStage.methodSettings as apigateway.CfnStage.MethodSettingProperty[]) ?? []),
      ...methodSettings,
    ];
  }

  /**
   * Two rate rules, each counting per client IP address over the last minute and answering
   * 429 past its limit: one for the webhook path, one for every other path. Facebook delivers
   * from many addresses, each sending a small share; the business's backend calls the other
   * routes from few. No managed rule groups: AWS's common rule set blocks bodies over 8 KB,
   * which Facebook's batched deliveries can exceed.
   */
  private createWebAcl(
    id: string,
    webhookPath: string,
    firewall: Settings['apiFirewall'],
  ): wafv2.CfnWebACL {
    const metricPrefix = `${id}-`;
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${metricPrefix}${name}`,
      // Off: a sampled request keeps every header and the query string for hours, which is the
      // backend's `Authorization: Bearer` key and the handshake's verify token, readable by
      // anyone allowed `wafv2:GetSampledRequests`; unlike WAF logging, it cannot be redacted.
      sampledRequestsEnabled: false,
    });
    // What WAF sees is the path as called, stage included (`/prod/webhook`). ENDS_WITH rather
    // than EXACTLY keeps Facebook under the webhook's own limit even if the path reached WAF
    // without the stage.
    const onWebhookPath: wafv2.CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'ENDS_WITH',
        searchString: webhookPath,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    };
    const rateRule = (
      name: string,
      priority: number,
      limit: number,
      scopeDownStatement: wafv2.CfnWebACL.StatementProperty,
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      action: { block: { customResponse: { responseCode: 429 } } },
      statement: {
        rateBasedStatement: {
          aggregateKeyType: 'IP',
          evaluationWindowSec: RATE_WINDOW_SECONDS,
          limit,
          scopeDownStatement,
        },
      },
      visibilityConfig: visibility(name),
    });
    return new wafv2.CfnWebACL(this, 'WebAcl', {
      description: 'Limits the requests of each IP address to the Login Connect API',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebAcl'),
      rules: [
        rateRule('WebhookPerIp', 0, firewall.webhookPerIpPerMinute, onWebhookPath),
        rateRule('ApiPerIp', 1, firewall.apiPerIpPerMinute, {
          notStatement: { statement: onWebhookPath },
        }),
      ],
    });
  }
}

/** A method anyone may call; the function behind it authenticates the request. */
function acknowledgeOpenMethod(method: apigateway.Method, reason: string[]): void {
  const resource = method.node.defaultChild as Construct;
  acknowledge(resource, 'AwsSolutions-APIG4', reason);
  acknowledge(resource, 'AwsSolutions-COG4', [
    ...reason,
    ' No Cognito user pool: neither Facebook nor the business backend signs in to one.',
  ]);
}

function acknowledge(scope: Construct, id: string, reason: string[]): void {
  const target = (scope.node.defaultChild as Construct | undefined) ?? scope;
  Validations.of(target).acknowledge({ id, reason: reason.join('') });
}
