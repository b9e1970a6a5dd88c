import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTableIfMissing } from '../../shared/store/table-admin';
import { keys } from '../../shared/store/table-definition';

/** A fresh table on the DynamoDB Local started by the global setup. */
export async function freshTable(): Promise<{
  tableName: string;
  doc: DynamoDBDocumentClient;
  raw: DynamoDBClient;
}> {
  if (!process.env.AWS_ENDPOINT_URL_DYNAMODB)
    throw new Error('integration tests need the DynamoDB Local global setup');
  const raw = new DynamoDBClient({});
  const tableName = `t-${randomUUID()}`;
  await createTableIfMissing(raw, tableName);
  const doc = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { tableName, doc, raw };
}

export async function optinItem(doc: DynamoDBDocumentClient, tableName: string, loginId: string) {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.optin(loginId), ConsistentRead: true }),
  );
  return Item;
}

/** Everything stored under one person's partition, by sort key. */
export async function partition(doc: DynamoDBDocumentClient, tableName: string, loginId: string) {
  const { Items } = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.optin(loginId).pk },
      ConsistentRead: true,
    }),
  );
  return Object.fromEntries((Items ?? []).map((item) => [item.sk as string, item]));
}
