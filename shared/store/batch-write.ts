import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One request of a BatchWriteItem: a put or a delete. */
export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * Writes every request, 25 to a BatchWriteItem, sending again what DynamoDB left unprocessed with
 * a growing pause; throws (naming `what`) when it keeps refusing after 8 tries of one batch.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  all: readonly WriteRequest[],
  what: string,
): Promise<void> {
  for (let i = 0; i < all.length; i += 25) {
    let requests = all.slice(i, i + 25);
    for (let attempt = 0; requests.length > 0; attempt += 1) {
      if (attempt > 8) throw new Error(`DynamoDB kept refusing ${what}`);
      const { UnprocessedItems } = await client.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: [...requests] } }),
      );
      requests = (UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
      if (requests.length > 0)
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}
