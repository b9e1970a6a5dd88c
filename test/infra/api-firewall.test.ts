import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from '../../infra/config';
import { PipelineStack } from '../../infra/pipeline-stack';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api/routes';
import { readFirstMessagesFile } from '../../shared/login-connect/first-message';
import { parseSettings } from '../../shared/settings';
import { STACK_OUTPUTS } from '../../shared/stack-outputs';

// The `apiFirewall` variant of the stack: a REST API behind a regional AWS WAF web ACL. The
// settings differ from the defaults so each assertion proves a value was wired through. No
// bundling (no stack is selected for it): what is checked here is the API, not the functions.

const firstMessages = readFirstMessagesFile(
  path.join(__dirname, '..', '..', 'infra', 'first-messages.json'),
);
const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
const context = { ...cdkJson.context, [BUNDLING_STACKS]: [] };

const app = new App({ context });
const stack = new PipelineStack(app, 'Walled', {
  settings: parseSettings({
    apiFirewall: { enabled: true, webhookPerIpPerMinute: 900, apiPerIpPerMinute: 120 },
    webhookThrottle: { rateLimit: 150, burstLimit: 300 },
    apiThrottle: { rateLimit: 20, burstLimit: 40 },
    alarms: { webhookServerErrorCount: 3 },
  }),
  firstMessages,
});
const template = Template.fromStack(stack);

const WEBHOOK_FN = stack.getLogicalId(stack.webhookFn.fn.node.defaultChild as CfnFunction);
const API_FN = stack.getLogicalId(stack.apiFn.fn.node.defaultChild as CfnFunction);
const REST_API = Match.stringLikeRegexp('^FirewalledApiRestApi[0-9A-F]{8}$');
const ROUTE_KEYS = ['GET /webhook', 'POST /webhook', ...API_ROUTES, ...PUBLIC_ROUTES];

/** The one resource of `type`: its logical id and properties. */
function only(type: string) {
  const resources = Object.entries(template.findResources(type));
  expect(resources).toHaveLength(1);
  const [logicalId, resource] = resources[0] ?? [];
  return { logicalId: logicalId ?? '', properties: resource?.Properties };
}

/**
 * `POST /messages/{id}` → the stage's method setting for it, if any; `* /*` → the stage's
 * default for every method.
 */
function methodSetting(routeKey: string): Record<string, unknown> | undefined {
  const [method, routePath = ''] = routeKey.split(' ');
  const resourcePath = routePath === '/*' ? '/*' : `/${routePath.replace(/\//g, '~1')}`;
  return only('AWS::ApiGateway::Stage').properties.MethodSettings.find(
    (s: Record<string, unknown>) => s.HttpMethod === method && s.ResourcePath === resourcePath,
  );
}

/** Route keys of the REST API's methods, rebuilt from the resource tree, with their function. */
function methodRoutes(): Record<string, string> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const resource = id ? resources[id] : undefined;
    if (!resource) return ''; // the API's root
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };
  return Object.fromEntries(
    Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => {
      const uri = JSON.stringify(m.Properties.Integration.Uri);
      const target = uri.includes(WEBHOOK_FN) ? 'webhook' : uri.includes(API_FN) ? 'api' : uri;
      return [`${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`, target];
    }),
  );
}

describe('PipelineStack with apiFirewall', () => {
  describe('API', () => {
    it('builds a regional REST API in place of the HTTP API', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
      template.resourceCountIs('AWS::ApiGatewayV2::Stage', 0);
      expect(only('AWS::ApiGateway::RestApi').properties).toMatchObject({
        EndpointConfiguration: { Types: ['REGIONAL'] },
        Name: 'Walled-FirewalledApi',
      });
    });

    it('routes the same routes to the same functions, through Lambda proxy integrations', () => {
      expect(methodRoutes()).toEqual(
        Object.fromEntries(
          ROUTE_KEYS.map((key) => [key, key.endsWith(' /webhook') ? 'webhook' : 'api']),
        ),
      );
      for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
        expect(method.Properties).toMatchObject({
          AuthorizationType: 'NONE',
          Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
        });
      }
    });

    it('hands every body over base64-encoded, so the signature is checked over the bytes as sent', () => {
      expect(only('AWS::ApiGateway::RestApi').properties.BinaryMediaTypes).toEqual(['*/*']);
    });

    it('throttles each method on its own: the webhook with webhookThrottle, each other route with apiThrottle', () => {
      expect(methodSetting('* /*')).toMatchObject({
        ThrottlingRateLimit: 150,
        ThrottlingBurstLimit: 300,
      });
      for (const route of [...API_ROUTES, ...PUBLIC_ROUTES]) {
        expect(methodSetting(route)).toMatchObject({
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        });
      }
      // The webhook's methods keep the stage default: a bucket of their own, per method.
      expect(methodSetting('POST /webhook')).toBeUndefined();
      expect(methodSetting('GET /webhook')).toBeUndefined();
    });

    it('logs errors without bodies, and a JSON access log with the WAF verdict but no query strings, headers or bodies', () => {
      const stage = only('AWS::ApiGateway::Stage').properties;
      expect(methodSetting('* /*')).toMatchObject({
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        MetricsEnabled: false,
      });
      expect(stage.StageName).toBe('prod');
      // The access log group's ARN, without the `:*` of its `Arn` attribute
      // (`@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard` in cdk.json).
      const [, arnParts] = stage.AccessLogSetting.DestinationArn['Fn::Join'];
      expect(arnParts.slice(-2)).toEqual([
        ':log-group:',
        { Ref: expect.stringMatching(/^FirewalledApiAccessLogGroup/) },
      ]);
      const format = JSON.parse(stage.AccessLogSetting.Format);
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.httpMethod $context.resourcePath',
        status: '$context.status',
        waf: '$context.wafResponseCode',
      });
      expect(stage.AccessLogSetting.Format).not.toMatch(
        /querystring|header|body|\$input|\$context\.path/i,
      );
    });

    it("sets API Gateway's account logging role, kept when the stack is deleted", () => {
      template.hasResource('AWS::ApiGateway::Account', {
        Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
        DeletionPolicy: 'Retain',
      });
    });
  });

  describe('web ACL', () => {
    const webAcl = () => only('AWS::WAFv2::WebACL').properties;
    const rule = (name: string) =>
      webAcl().Rules.find((r: { Name: string }) => r.Name === name) as Record<string, unknown>;
    const WEBHOOK_PATH = {
      ByteMatchStatement: {
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: 'ENDS_WITH',
        SearchString: '/webhook',
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    };

    it('is regional, allows by default, and has exactly the two rate rules', () => {
      expect(webAcl()).toMatchObject({
        Scope: 'REGIONAL',
        DefaultAction: { Allow: {} },
        VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false },
      });
      expect(webAcl().Rules.map((r: { Name: string }) => r.Name)).toEqual([
        'WebhookPerIp',
        'ApiPerIp',
      ]);
    });

    it('answers 429 to an IP address sending the webhook more than webhookPerIpPerMinute', () => {
      expect(rule('WebhookPerIp')).toMatchObject({
        Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
        Statement: {
          RateBasedStatement: {
            AggregateKeyType: 'IP',
            EvaluationWindowSec: 60,
            Limit: 900,
            ScopeDownStatement: WEBHOOK_PATH,
          },
        },
        VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false },
      });
    });

    it('counts every other path against the stricter apiPerIpPerMinute, separately from the webhook', () => {
      expect(rule('ApiPerIp')).toMatchObject({
        Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
        Statement: {
          RateBasedStatement: {
            AggregateKeyType: 'IP',
            EvaluationWindowSec: 60,
            Limit: 120,
            ScopeDownStatement: { NotStatement: { Statement: WEBHOOK_PATH } },
          },
        },
      });
    });

    it('is associated with the REST API stage', () => {
      const stageId = only('AWS::ApiGateway::Stage').logicalId;
      const association = only('AWS::WAFv2::WebACLAssociation').properties;

      expect(association.WebACLArn).toEqual({
        'Fn::GetAtt': [only('AWS::WAFv2::WebACL').logicalId, 'Arn'],
      });
      const parts = JSON.stringify(association.ResourceArn);
      expect(parts).toContain(':apigateway:');
      expect(parts).toContain('::/restapis/');
      expect(parts).toContain(`{"Ref":"${stageId}"}`);
      expect(parts).toMatch(/"Ref":"FirewalledApiRestApi[0-9A-F]{8}"/);
    });
  });

  describe('outputs and monitoring', () => {
    it('keeps every output name, the webhook URL on the prod stage', () => {
      expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
        Object.values(STACK_OUTPUTS).sort(),
      );
      template.hasOutput(STACK_OUTPUTS.webhookUrl, {
        Value: {
          'Fn::Join': [
            '',
            Match.arrayWith([
              'https://',
              { Ref: REST_API },
              '/',
              // The stage's Ref is its name, `prod`.
              { Ref: Match.stringLikeRegexp('^FirewalledApiRestApiDeploymentStageprod') },
              '/webhook',
            ]),
          ],
        },
      });
    });

    it('alarms on the 5XX errors of the REST API stage', () => {
      const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(
        ([id]) => /^MonitoringWebhook5xx[0-9A-F]{8}$/.test(id),
      );
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.[1].Properties).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Dimensions: [
          { Name: 'ApiName', Value: 'Walled-FirewalledApi' },
          {
            Name: 'Stage',
            Value: { Ref: expect.stringMatching(/^FirewalledApiRestApiDeploymentStageprod/) },
          },
        ],
        Threshold: 3,
      });
    });
  });

  describe('security checks', () => {
    it('leaves no cdk-nag AwsSolutions finding unacknowledged', () => {
      expect(new AwsSolutionsChecks(app).validateScope(stack).violations).toEqual([]);
    });

    it('acknowledges only the REST API findings it must, each on a single resource, with a reason', () => {
      const acknowledged = stack.node.findAll().flatMap((construct) =>
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
      const apiFindings = acknowledged
        .filter(({ construct }) => construct.node.path.startsWith('Walled/FirewalledApi/'))
        .map(({ id, construct }) => `${id} ${construct.node.path}`);

      const methods = ROUTE_KEYS.map((key) => {
        const [method, routePath = ''] = key.split(' ');
        return `Walled/FirewalledApi/RestApi/Default${routePath}/${method}/Resource`;
      });
      expect(apiFindings.sort()).toEqual(
        [
          'AwsSolutions-APIG2 Walled/FirewalledApi/RestApi/Resource',
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs] Walled/FirewalledApi/RestApi/CloudWatchRole/Resource',
          ...methods.map((m) => `AwsSolutions-APIG4 ${m}`),
          ...methods.map((m) => `AwsSolutions-COG4 ${m}`),
        ].sort(),
      );
      for (const { reason, construct } of acknowledged) {
        expect(construct).toBeInstanceOf(CfnResource);
        expect(reason.trim().length).toBeGreaterThan(80);
      }
    });
  });
});

describe('PipelineStack without apiFirewall', () => {
  it('keeps the HTTP API, with no web ACL and no REST API', () => {
    const plainApp = new App({ context });
    const plain = Template.fromStack(
      new PipelineStack(plainApp, 'Plain', { settings: parseSettings({}), firstMessages }),
    );

    plain.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    plain.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    plain.resourceCountIs('AWS::ApiGateway::Account', 0);
    plain.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});

describe('apiFirewall settings', () => {
  it.each([
    [{ enabled: 'yes' }, /loginConnect\.apiFirewall\.enabled/],
    [
      { enabled: true, webhookPerIpPerMinute: 5 },
      /loginConnect\.apiFirewall\.webhookPerIpPerMinute/,
    ],
    [{ apiPerIpPerMinute: 2.5 }, /loginConnect\.apiFirewall\.apiPerIpPerMinute/],
    [{ enable: true }, /loginConnect\.apiFirewall.*enable/],
  ])('refuses %j before synth, naming the field', (apiFirewall, message) => {
    const badApp = new App({ context: { loginConnect: { apiFirewall } } });

    expect(() => loadDeploymentConfig(badApp)).toThrow(message);
  });

  it('is off by default, with limits per IP address per minute of 1200 (webhook) and 300 (the rest)', () => {
    expect(parseSettings({}).apiFirewall).toEqual({
      enabled: false,
      webhookPerIpPerMinute: 1200,
      apiPerIpPerMinute: 300,
    });
  });
});
