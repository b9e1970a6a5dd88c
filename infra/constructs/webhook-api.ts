import { HttpApi, HttpMethod, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface WebhookApiProps {
  /** Function answering both the subscription challenge (GET) and the events (POST). */
  readonly handler: lambda.IFunction;
  /** Request rate and burst limits of the default stage. */
  readonly throttle: ThrottleSettings;
  /** Path of the webhook route. @default '/webhook' */
  readonly path?: string;
}

/** HTTP API with `GET` and `POST` on the webhook path, served from a throttled default stage. */
export class WebhookApi extends Construct {
  readonly api: HttpApi;
  /** Full URL of the webhook route, to enter in the Meta app settings. */
  readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    const path = props.path ?? '/webhook';

    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Login Connect with Messenger webhook',
      // HttpApi cannot throttle the default stage it creates itself, so it is added below.
      createDefaultStage: false,
    });
    const stage = this.api.addStage('DefaultStage', { autoDeploy: true, throttle: props.throttle });
    this.api.addRoutes({
      path,
      methods: [HttpMethod.GET, HttpMethod.POST],
      integration: new HttpLambdaIntegration('Integration', props.handler),
    });
    // The `$default` stage URL is the API root and ends with '/'.
    this.webhookUrl = `${stage.url}${path.slice(1)}`;
  }
}
