import { randomBytes } from 'node:crypto';
import { parseSignedRequest } from '../facebook/signed-request';
import { loginIdFor } from '../login-connect/login-id';
import { tombstoneId } from '../login-connect/tombstone';
import type { EraseJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type { PersonStore } from '../store/person-store';
import type { PersonId } from '../store/table-definition';

/** SQS delays a message by 15 minutes at most. */
const MAX_DELAY_SECONDS = 900;

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
  | { ok: true; code: string; status: DeletionStatus; deleted: Record<string, number> }
  | { ok: false; reason: string };

/**
 * `completed`: records were found and deleted. `not_found`: nothing was stored about the person
 * (every `login_id` they could have was derived and looked up). `partial`: deleted what could be
 * reached, but some identifiers could not be derived (`reason` says why).
 */
export type DeletionStatus = 'completed' | 'not_found' | 'partial';

/** The `login_id` the person has (or would have) for each configured Page. */
export function derivedLoginIds(asid: string, secrets: AppSecrets): PersonId[] {
  const { loginApp } = secrets;
  if (!loginApp) return [];
  return Object.keys(secrets.pages).map((pageId) => ({
    kind: 'login' as const,
    id: loginIdFor({ asid, appId: loginApp.appId, pageId, clientToken: loginApp.clientToken }),
  }));
}

/**
 * Facebook's Data Deletion Request callback. Verifies the signed request with the Login app's
 * secret (two-app setup: `loginApp.appSecret`), else the Messenger app's. From the ASID it derives
 * the person's `login_id` for every configured Page, tombstones every identifier first (so work
 * already queued or in flight stops and re-creates nothing), then deletes every record that names
 * the person (see `PersonStore.erase`), tombstoning the identifiers found on the way. Keeps only a
 * status record under a random confirmation code, holding no personal data.
 */
export async function deleteUserData(
  signedRequest: string,
  deps: {
    secrets: AppSecrets;
    people: PersonStore;
    /** Queues the second pass (see `EraseJob`) to run after `delaySeconds`. */
    enqueueLater?: (job: EraseJob, delaySeconds: number) => Promise<unknown>;
    /** How long an attempt in flight may still write: the sender's lease and hand-over grace. */
    inFlightSeconds?: number;
  },
  nowMs: number,
): Promise<DeletionResult> {
  const parsed = parseSignedRequest(
    signedRequest,
    deps.secrets.loginApp?.appSecret ?? deps.secrets.appSecret,
    nowMs,
  );
  if (!parsed.ok) return parsed;
  const asid: PersonId = { kind: 'asid', id: parsed.userId };
  const start = [asid, ...derivedLoginIds(parsed.userId, deps.secrets)];
  const bury = (ids: PersonId[]) =>
    deps.people.bury(
      ids.map((id) => tombstoneId(id, deps.secrets)),
      nowMs,
    );
  // Tombstones before the erasure: whatever writes after it finds them and stops.
  await bury(start);
  const erased = await deps.people.erase(start);
  const met = new Set(start.map((id) => `${id.kind}:${id.id}`));
  await bury(erased.ids.filter((id) => !met.has(`${id.kind}:${id.id}`)));
  const status: DeletionStatus = !deps.secrets.loginApp
    ? 'partial'
    : Object.keys(erased.deleted).length === 0
      ? 'not_found'
      : 'completed';
  const code = randomBytes(10).toString('hex');
  await deps.people.recordDeletion(
    code,
    {
      status,
      ...(status === 'partial'
        ? {
            reason:
              'login_app_not_configured: without loginApp in the secret the login_ids of this person cannot be derived; only records linked to the ASID were reached',
          }
        : {}),
      requestedAt: nowMs,
      completedAt: Date.now(),
      deleted: erased.deleted,
    },
    STATUS_DAYS,
  );
  // An attempt that claimed before the tombstones may still write a LOCK, pointers or a
  // suppression after the erasure read the partitions: a second pass removes them once it ended.
  if (deps.enqueueLater)
    await deps.enqueueLater(
      { v: 1, kind: 'erase', code, ids: erased.ids.slice(0, 256) },
      Math.min(MAX_DELAY_SECONDS, (deps.inFlightSeconds ?? 65) + 5),
    );
  return { ok: true, code, status, deleted: erased.deleted };
}

export async function deletionStatus(code: string, deps: { people: PersonStore }) {
  if (!/^[0-9a-f]{20}$/.test(code)) return undefined;
  const record = await deps.people.deletion(code);
  if (!record) return undefined;
  return {
    confirmation_code: code,
    status: record.status,
    ...(record.reason ? { reason: record.reason } : {}),
    requestedAt: new Date(record.requestedAt).toISOString(),
    completedAt: new Date(record.completedAt).toISOString(),
    deleted: record.deleted,
  };
}
