import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { parseSignedRequest } from '../facebook/signed-request';
import type { PersonStore } from '../store/person-store';
import { keys } from '../store/table-definition';

/** How long the status page of a deletion stays available. */
const STATUS_DAYS = 90;

/** `signed_request` from a form body (as Facebook posts it) or a JSON body. */
export function signedRequestOf(
  body: string | undefined,
  contentType: string | undefined,
): string | undefined {
  if (body === undefined) return undefined;
  if ((contentType ?? '').includes('json')) {
    try {
      const parsed = JSON.parse(body) as { signed_request?: unknown };
      return typeof parsed.signed_request === 'string' ? parsed.signed_request : undefined;
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body).get('signed_request') ?? undefined;
}

export type DeletionResult =
  | { ok: true; code: string; deletedItems: number }
  | { ok: false; reason: string };

/**
 * Facebook's Data Deletion Request callback: verifies the signed request, deletes every record
 * tied to that ASID (its `login_id`s, PSIDs, messages, suppressions), and keeps only a status
 * record under a random confirmation code, holding no personal data.
 */
export async function deleteUserData(
  signedRequest: string,
  deps: {
    appSecret: string;
    people: PersonStore;
    client: DynamoDBDocumentClient;
    tableName: string;
  },
  nowMs: number,
): Promise<DeletionResult> {
  const parsed = parseSignedRequest(signedRequest, deps.appSecret, nowMs);
  if (!parsed.ok) return parsed;
  const code = randomBytes(10).toString('hex');
  const deletedItems = await deps.people.erase({ kind: 'asid', id: parsed.userId });
  await deps.client.send(
    new PutCommand({
      TableName: deps.tableName,
      Item: {
        ...keys.deletion(code),
        type: 'deletion',
        status: 'completed',
        requestedAt: new Date(nowMs).toISOString(),
        completedAt: new Date().toISOString(),
        deletedItems,
        expiresAt: Math.floor(nowMs / 1000) + STATUS_DAYS * 86_400,
      },
    }),
  );
  return { ok: true, code, deletedItems };
}

export async function deletionStatus(
  code: string,
  deps: { client: DynamoDBDocumentClient; tableName: string },
) {
  if (!/^[0-9a-f]{20}$/.test(code)) return undefined;
  const { Item } = await deps.client.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.deletion(code) }),
  );
  if (!Item) return undefined;
  return {
    confirmation_code: code,
    status: Item.status,
    requestedAt: Item.requestedAt,
    completedAt: Item.completedAt,
  };
}
