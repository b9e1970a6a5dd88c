import { CfnCondition, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

const CLOUDWATCH = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

export interface AlarmTopicProps {
  /**
   * Address to subscribe, usually a `CfnParameter` value resolved at deploy time. An empty string
   * subscribes nobody (the subscription is behind a CloudFormation condition).
   */
  readonly email: string;
}

/**
 * The SNS topic alarms notify: encrypted with its own KMS key, TLS-only, publishable by this
 * account's CloudWatch alarms, with an optional email subscription.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { partition, region, account } = Stack.of(this);

    // A key of its own: CloudWatch cannot publish to a topic encrypted with the AWS-managed
    // aws/sns key, whose policy cannot grant it anything, and notifications would silently stop.
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Login Connect alarm notifications',
      enableKeyRotation: true,
      // It only ever encrypts notifications in flight, which die with the topic, so it is not
      // data worth keeping (and KMS still waits 30 days before deleting it).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsOfThisAccountEncryptForTheirTopics',
        principals: [CLOUDWATCH],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // SNS asks KMS with the topic ARN as encryption context: only topics of this account.
        conditions: {
          StringLike: {
            'kms:EncryptionContext:aws:sns:topicArn': `arn:${partition}:sns:${region}:${account}:*`,
          },
        },
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Login Connect alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one, so the alarms' right to publish is spelled out.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsOfThisAccountPublish',
        principals: [CLOUDWATCH],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );

    const hasEmail = new CfnCondition(this, 'HasEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(props.email, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'EmailSubscription', {
      topicArn: this.topic.topicArn,
      protocol: 'email',
      endpoint: props.email,
    });
    subscription.cfnOptions.condition = hasEmail;
  }
}
