/** CloudFormation output keys of the stack: what operators and tools read after `cdk deploy`. */
export const STACK_OUTPUTS = {
  webhookUrl: 'WebhookUrl',
  tableName: 'TableName',
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  secretArn: 'SecretArn',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardUrl: 'DashboardUrl',
} as const;
