import { startDynamoDbLocal } from '../../infra/local/dynamodb-local';

/** One DynamoDB Local for the whole integration run; each test file makes its own table. */
export default async function globalSetup(): Promise<void> {
  const { endpoint, process: child } = await startDynamoDbLocal();
  (globalThis as Record<string, unknown>).__DYNAMODB_LOCAL__ = child;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
}
