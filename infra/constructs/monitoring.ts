import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Settings } from '../../shared/settings';
import { METRICS_NAMESPACE, SERVICE_NAME } from './lcm-function';
import type { ApiStageMetrics } from './webhook-api';

/** Every alarm and graph looks at 5-minute periods. */
const PERIOD = Duration.minutes(5);
const PERIOD_SECONDS = PERIOD.toSeconds();

/** The metrics the functions emit with the `service` dimension alone. */
type ServiceMetric =
  | 'OptinsReceived'
  | 'EventsReceived'
  | 'SignatureRejected'
  | 'WebhookBadRequest'
  | 'WebhookErrors'
  | 'WebhookVerified'
  | 'WebhookVerificationRefused'
  | 'RecordsReceived'
  | 'FirstMessageSent'
  | 'FollowupSent'
  | 'OptinToSendLatency'
  | 'OptinExpired'
  | 'OptinOptedOut'
  | 'OptinPageLocked'
  | 'OptinFailed'
  | 'PageTokenInvalid'
  | 'SendRetryScheduled'
  | 'SendError'
  | 'DuplicateOptin'
  | 'DuplicateSendDetected'
  | 'SendOutcomeUnknown'
  | 'OptinOutcomeUnknown'
  | 'SendHandedOver'
  | 'SendNotRecorded'
  | 'RecordsRejected'
  | 'PageRestricted'
  | 'PageRateLimited'
  | 'SendDeferredPagePaused'
  | 'PagesPaused'
  | 'PageResubscribed'
  | 'PageSubscriptionMissing'
  | 'PageSubscriptionCheckFailed'
  | 'PageOptinsSilent';

/** `SendError` per `code` (190, 613, 500, timeout...), for graphs: alarms cannot use SEARCH. */
const SEND_ERRORS_BY_CODE =
  `SEARCH('{${METRICS_NAMESPACE},code,service} MetricName="SendError" ` +
  `service="${SERVICE_NAME}"', 'Sum', ${PERIOD_SECONDS})`;

/** A metric of the functions, summed over the period unless `options` say otherwise. */
function serviceMetric(
  metricName: ServiceMetric,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
    ...options,
  });
}

export interface MonitoringProps {
  /** Where every alarm sends its ALARM and OK notifications. */
  readonly topic: sns.ITopic;
  readonly webhookFn: lambda.IFunction;
  readonly senderFn: lambda.IFunction;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The webhook API's stage, for its 5xx and latency metrics. */
  readonly apiStage: ApiStageMetrics;
  readonly table: dynamodb.ITable;
  readonly thresholds: Settings['alarms'];
  /** How often the Page watchdog runs: its figures are read over that period. */
  readonly pageWatchInterval: Duration;
}

/**
 * The alarms an operator must act on, and a dashboard with the figures behind them. The alarms
 * treat missing data as fine: most of these metrics only exist while something happens.
 */
export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { thresholds } = props;
    this.action = new SnsAction(props.topic);

    // The failed share of Send API attempts. FILL makes a period with errors and no send count
    // as 100 %, and IF keeps a period with no attempt at all at 0 instead of dividing by zero.
    // SendError with the service dimension alone is the total over all codes, which the sender
    // emits besides the per-code series: alarms refuse SEARCH, so they cannot add those up.
    const sendErrors = serviceMetric('SendError');
    const senderErrorRate = new cloudwatch.MathExpression({
      label: 'Send API error rate (%)',
      period: PERIOD,
      expression: 'IF(attempts > 0, 100 * FILL(errors, 0) / attempts, 0)',
      usingMetrics: {
        errors: sendErrors,
        attempts: new cloudwatch.MathExpression({
          expression: 'FILL(errors, 0) + FILL(sent, 0) + FILL(followups, 0)',
          period: PERIOD,
          usingMetrics: {
            errors: sendErrors,
            sent: serviceMetric('FirstMessageSent'),
            followups: serviceMetric('FollowupSent'),
          },
        }),
      },
    });

    this.addAlarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      alarmDescription:
        'Messages are waiting in the dead-letter queue (output DeadLetterQueueUrl): the sender ' +
        'could not even record these opt-ins (e.g. DynamoDB unavailable for hours), so they ' +
        'get no first message. Find the cause in the sender logs and fix it, then use "Start ' +
        'DLQ redrive" in the SQS console; a job that was already sent is skipped.',
    });
    this.addAlarm('OptinExpired', {
      metric: serviceMetric('OptinExpired'),
      threshold: 1,
      alarmDescription:
        "An opt-in's 24-hour window closed before its first message went out: that person " +
        'will not get one. Usually a long Send API outage or a webhook delivered late. Read ' +
        '"errors" and "lastError" on the OPTIN record (README, Operations) and the send ' +
        'errors by code on the dashboard.',
    });
    this.addAlarm('SendOutcomeUnknown', {
      metric: serviceMetric('SendOutcomeUnknown'),
      threshold: 1,
      alarmDescription:
        'A Send API attempt ended without a known outcome (Graph gave no answer, or a sender ' +
        'died mid-attempt). With sendUnknownOutcome "retry" the message was tried again, so a ' +
        'person may have got two first messages; with "hold" the opt-in is now "unknown" and ' +
        'waits for an operator (npx lcm list --status unknown; README, Exactly once).',
    });
    this.addAlarm('SendNotRecorded', {
      metric: serviceMetric('SendNotRecorded'),
      threshold: 1,
      alarmDescription:
        'Graph accepted a message and neither DynamoDB nor SQS would take its record: the ' +
        'sender log line "SENT BUT NOT RECORDED" names the message_id. The attempt now counts ' +
        'as an unknown outcome (README, Exactly once); look at DynamoDB and SQS health.',
    });
    this.addAlarm('DuplicateSendDetected', {
      metric: serviceMetric('DuplicateSendDetected'),
      threshold: 1,
      alarmDescription:
        'Two sends were recorded for one opt-in or follow-up: a person got a second message. ' +
        'The sender log line "a second message went out" names it (README, Exactly once).',
    });
    this.addAlarm('PageTokenInvalid', {
      metric: serviceMetric('PageTokenInvalid'),
      threshold: 1,
      alarmDescription:
        'Graph refused a Page access token (error 190: revoked or expired). The Page is ' +
        'paused: its opt-ins wait (pending, not failed) while their 24-hour windows run. The ' +
        'log line "PAGE TOKEN INVALID" names the Page: put a new token under ' +
        'pages.<PAGE_ID>.accessToken in the secret (output SecretArn). Within ' +
        'secretsMaxAgeSeconds the sender sees the new token, probes with it, and sends the ' +
        'waiting opt-ins once each (npx lcm pages shows the Page).',
    });
    this.addAlarm('PageRestricted', {
      metric: serviceMetric('PageRestricted'),
      threshold: 1,
      alarmDescription:
        'Meta restricted a Page from sending (error 10/1893063, Messenger changelog 25 June ' +
        "2026). Not the people's fault: the Page is paused, its opt-ins wait (pending) and one " +
        'probe retries after a back-off (pageBackoffBaseSeconds, doubling to ' +
        'pageBackoffMaxSeconds) while their windows are open. The log line "PAGE RESTRICTED" ' +
        'names the Page; look at the Page Quality tab in Meta Business Suite. npx lcm pages ' +
        'shows when the next probe goes.',
    });
    // The watchdog's figures come once a run, zeros included: read over its interval, and a
    // period without a run keeps the alarm as it was rather than clearing it.
    const watchPeriod = props.pageWatchInterval;
    const watched = (metricName: ServiceMetric, statistic = cloudwatch.Stats.SUM) =>
      serviceMetric(metricName, { period: watchPeriod, statistic });
    this.addAlarm(
      'PagePaused',
      {
        metric: watched('PagesPaused', cloudwatch.Stats.MAXIMUM),
        threshold: 1,
        alarmDescription:
          'At its last run the Page watchdog found a Page still paused (restricted, token ' +
          'invalid, or rate-limited): its opt-ins wait and their windows run out. npx lcm ' +
          'pages shows each Page, why and since when; the watchdog log line "Page is paused" ' +
          'names it. See the PageRestricted and PageTokenInvalid alarms for what to do.',
      },
      cloudwatch.TreatMissingData.IGNORE,
    );
    this.addAlarm(
      'PageSubscriptionMissing',
      {
        metric: watched('PageSubscriptionMissing'),
        threshold: 1,
        alarmDescription:
          "The app is not subscribed to a Page's webhooks with every field we need " +
          '(messaging_optins first), and the watchdog could not subscribe it again with the ' +
          "Page token: that Page's opt-ins do not reach us. Facebook unsubscribes apps whose " +
          'webhooks fail for long. The log line "PAGE NOT SUBSCRIBED" names the Page and the ' +
          "missing fields: subscribe it in the Page's settings, or give the token " +
          'pages_manage_metadata (README, Configuring the Facebook app).',
      },
      cloudwatch.TreatMissingData.IGNORE,
    );
    this.addAlarm(
      'PageOptinsSilent',
      {
        metric: watched('PageOptinsSilent'),
        threshold: 1,
        alarmDescription:
          'A Page that received opt-ins before has received none for longer than ' +
          'pageWatch.optinSilenceHours. Its webhooks may no longer reach us (subscription, ' +
          'app mode, Login Connect settings) or its traffic stopped. The log line "NO OPT-INS ' +
          'FROM PAGE" names it; npx lcm pages shows its last opt-in and subscription check.',
      },
      cloudwatch.TreatMissingData.IGNORE,
    );
    this.addAlarm('SenderErrorRate', {
      metric: senderErrorRate,
      threshold: thresholds.senderErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      alarmDescription:
        `More than ${thresholds.senderErrorRatePercent} % of Send API attempts failed for 15 ` +
        'minutes. Transient errors are retried, but a lasting rate means Facebook is down or ' +
        'throttling (codes 4, 32, 613), or a token or Page setup is wrong. Look at the send ' +
        'errors by code on the dashboard and at "lastError" in the sender logs.',
    });
    this.addAlarm('SenderInvocationErrors', {
      metric: props.senderFn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 2,
      alarmDescription:
        'The sender Lambda itself failed (crash, timeout or out of memory) for 10 minutes: ' +
        'what those invocations did may be unrecorded, and SQS redelivers their records until ' +
        'they reach the dead-letter queue. Look for "Task timed out" or the error in the ' +
        "sender's log group.",
    });
    this.addAlarm('Webhook5xx', {
      metric: props.apiStage.metricServerError({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: thresholds.webhookServerErrorCount,
      alarmDescription:
        'The webhook API answered Facebook with 5xx. Facebook redelivers for a while, then ' +
        'may disable the webhook. 503: appSecret is still empty in the secret. 500: the ' +
        'webhook failed (see the WebhookErrors alarm and the webhook logs). 502/504: the ' +
        'function crashed or timed out (its log group).',
    });
    this.addAlarm('WebhookErrors', {
      metric: serviceMetric('WebhookErrors'),
      threshold: 1,
      alarmDescription:
        'The webhook could not queue a delivery (e.g. SQS or Secrets Manager unreachable) and ' +
        'answered 500 so that Facebook delivers it again. Nothing is lost if it clears up; ' +
        'look for "webhook failed" in the webhook logs.',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    this.dashboard.addWidgets(
      graph('Opt-ins received vs first messages sent', [
        serviceMetric('OptinsReceived'),
        serviceMetric('FirstMessageSent'),
      ]),
      graph('Opt-in to first message latency (ms)', [
        serviceMetric('OptinToSendLatency', { statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        serviceMetric('OptinToSendLatency', { statistic: cloudwatch.Stats.p(99), label: 'p99' }),
      ]),
      graph('Send errors by code', [
        new cloudwatch.MathExpression({
          expression: SEND_ERRORS_BY_CODE,
          usingMetrics: {},
          period: PERIOD,
          // A CloudWatch dynamic label: one line per code, named after it.
          label: `code \${PROP('Dim.code')}`,
        }),
      ]),
      graph('Send API error rate (%)', [senderErrorRate]),
    );
    this.dashboard.addWidgets(
      graph('Opt-ins ended without a send', [
        serviceMetric('OptinExpired'),
        serviceMetric('OptinOptedOut'),
        serviceMetric('OptinPageLocked'),
        serviceMetric('OptinFailed'),
        serviceMetric('OptinOutcomeUnknown'),
        serviceMetric('PageTokenInvalid'),
      ]),
      graph('Retries and duplicates', [
        serviceMetric('SendRetryScheduled'),
        serviceMetric('DuplicateOptin'),
        serviceMetric('DuplicateSendDetected'),
        serviceMetric('SendOutcomeUnknown'),
        serviceMetric('SendHandedOver'),
        serviceMetric('RecordsRejected'),
      ]),
      graph('Pages: pauses, subscriptions, silence', [
        serviceMetric('PagesPaused', { statistic: cloudwatch.Stats.MAXIMUM, period: watchPeriod }),
        serviceMetric('PageRestricted'),
        serviceMetric('PageTokenInvalid'),
        serviceMetric('PageRateLimited'),
        serviceMetric('SendDeferredPagePaused'),
        serviceMetric('PageResubscribed', { period: watchPeriod }),
        serviceMetric('PageSubscriptionMissing', { period: watchPeriod }),
        serviceMetric('PageOptinsSilent', { period: watchPeriod }),
      ]),
      graph('Webhook requests refused', [
        serviceMetric('SignatureRejected'),
        serviceMetric('WebhookBadRequest'),
        serviceMetric('WebhookVerificationRefused'),
        serviceMetric('WebhookErrors'),
      ]),
      graph(
        'Webhook API',
        [
          props.apiStage.metricServerError({ label: '5xx', statistic: cloudwatch.Stats.SUM }),
          props.apiStage.metricClientError({ label: '4xx', statistic: cloudwatch.Stats.SUM }),
        ],
        [
          props.apiStage.metricLatency({
            label: 'latency p99 (ms)',
            statistic: cloudwatch.Stats.p(99),
          }),
        ],
      ),
    );
    this.dashboard.addWidgets(
      graph('Queue depth', [
        props.queue.metricApproximateNumberOfMessagesVisible({ label: 'send queue' }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' }),
      ]),
      graph('Age of the oldest message (s)', [
        props.queue.metricApproximateAgeOfOldestMessage({ label: 'send queue' }),
        props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ label: 'dead letters' }),
      ]),
      graph('DynamoDB throttles and system errors', [
        tableSearch(props.table, 'ThrottledRequests'),
        tableSearch(props.table, 'SystemErrors'),
      ]),
      graph('Records received by the sender', [serviceMetric('RecordsReceived')]),
    );
    const fns = { webhook: props.webhookFn, sender: props.senderFn };
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        perFunction(fns, (fn, label) => fn.metricErrors({ label })),
      ),
      graph(
        'Lambda throttles',
        perFunction(fns, (fn, label) => fn.metricThrottles({ label })),
      ),
      graph(
        'Lambda duration p99 (ms)',
        perFunction(fns, (fn, label) =>
          fn.metricDuration({ label, statistic: cloudwatch.Stats.p(99) }),
        ),
      ),
      graph(
        'Lambda concurrent executions',
        perFunction(fns, (fn, label) =>
          fn.metric('ConcurrentExecutions', { label, statistic: cloudwatch.Stats.MAXIMUM }),
        ),
      ),
    );
  }

  /** An alarm that notifies the topic when it fires and when it clears. */
  private addAlarm(
    id: string,
    props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods' | 'treatMissingData'> & {
      readonly evaluationPeriods?: number;
    },
    treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      ...props,
      treatMissingData,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
  }
}

/** A quarter-width line graph over the standard period. */
function graph(
  title: string,
  left: cloudwatch.IMetric[],
  right: cloudwatch.IMetric[] = [],
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, right, width: 6, period: PERIOD });
}

/** One metric per function, labelled with the function's role. */
function perFunction(
  fns: Readonly<Record<string, lambda.IFunction>>,
  metricOf: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric,
): cloudwatch.IMetric[] {
  return Object.entries(fns).map(([label, fn]) => metricOf(fn, label));
}

/** A DynamoDB metric of `table` for every operation that reports it. */
function tableSearch(table: dynamodb.ITable, metricName: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression:
      `SEARCH('{AWS/DynamoDB,Operation,TableName} TableName="${table.tableName}" ` +
      `MetricName="${metricName}"', 'Sum', ${PERIOD_SECONDS})`,
    usingMetrics: {},
    period: PERIOD,
    label: `${metricName} \${PROP('Dim.Operation')}`,
  });
}
