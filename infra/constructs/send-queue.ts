import { Annotations, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  maxAttemptsInWindow,
  maxReceiveCountFor,
  type RetryPolicy,
  SQS_MAX_RECEIVE_COUNT,
  UNSCHEDULED_RECEIVE_BUDGET,
} from '../../shared/login-connect/retry';

export { maxReceiveCountFor };

export interface SendQueueProps {
  /** Retry policy of the consumer; sets the redrive `maxReceiveCount`. */
  readonly retryPolicy: RetryPolicy;
  /** Timeout of the consuming Lambda; the visibility timeout is six times this. */
  readonly consumerTimeout: Duration;
  /** What happens to both queues when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

/** The webhook → sender queue and its dead-letter queue, both encrypted and TLS-only. */
export class SendQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SendQueueProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });

    const maxReceiveCount = maxReceiveCountFor(props.retryPolicy);
    const scheduledAttempts = maxAttemptsInWindow(props.retryPolicy);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's advice for a Lambda event source: six times the function timeout, so a batch that is
      // retried inside the event source poller is not handed out twice.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });

    // Capping keeps synth working for aggressive policies, but it must not go unnoticed.
    if (scheduledAttempts + UNSCHEDULED_RECEIVE_BUDGET > SQS_MAX_RECEIVE_COUNT) {
      Annotations.of(this).addWarningV2(
        'login-connect:maxReceiveCountCapped',
        `The retry policy allows ${scheduledAttempts} attempts, but SQS caps ` +
          `maxReceiveCount at ${SQS_MAX_RECEIVE_COUNT}: messages may reach the DLQ while still ` +
          'inside the window. Raise sendRetryBaseSeconds or sendRetryMaxSeconds.',
      );
    }
  }
}
