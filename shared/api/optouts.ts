import type { PersonStore } from '../store/person-store';
import { type PersonId, personKey } from '../store/table-definition';
import * as z from '../zod';

/** `{ loginId | psid | asid, reason? }`: exactly one identifier. */
export const OptoutRequestSchema = z
  .strictObject({
    loginId: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    psid: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    asid: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    reason: z.optional(z.string().check(z.maxLength(500))),
  })
  .check(
    z.refine((r) => [r.loginId, r.psid, r.asid].filter((v) => v !== undefined).length === 1, {
      error: 'give exactly one of loginId, psid or asid',
    }),
  );

export type OptoutRequest = z.infer<typeof OptoutRequestSchema>;

export function personOf(request: { loginId?: string; psid?: string; asid?: string }): PersonId {
  if (request.loginId !== undefined) return { kind: 'login', id: request.loginId };
  if (request.psid !== undefined) return { kind: 'psid', id: request.psid };
  return { kind: 'asid', id: request.asid as string };
}

/**
 * An opt-out asked for off Messenger (by phone, email, a settings page): the person is suppressed
 * under every identifier linked to the one given and, for an ASID, under the `login_id` they have
 * (or would have) for every configured Page (`derived`, see `derivedLoginIds`), linked or not yet,
 * so no queued or future send reaches them through any Page. Returns every identifier now known
 * to be suppressed.
 */
export async function optOut(
  request: OptoutRequest,
  people: PersonStore,
  nowMs: number,
  derived: PersonId[] = [],
): Promise<PersonId[]> {
  const person = personOf(request);
  const suppression = {
    source: 'api' as const,
    reason: request.reason ?? 'requested_off_messenger',
  };
  const seen = new Map<string, PersonId>();
  for (const start of [person, ...(person.kind === 'asid' ? derived : [])]) {
    await people.suppress(start, suppression, nowMs);
    for (const id of (await people.identity(start)).ids) seen.set(personKey(id), id);
  }
  return [...seen.values()];
}
