import type { PermissionsLookup } from '../graph/ports';
import { loginIdFor } from '../login-connect/login-id';
import type { OptinJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type { PersonStore } from '../store/person-store';
import * as z from '../zod';

export const LoginRequestSchema = z.strictObject({
  asid: z
    .string()
    .check(z.regex(/^\d{1,32}$/, { error: 'asid is the app-scoped user id (digits)' })),
  pageId: z.string().check(z.regex(/^\d{1,32}$/, { error: 'pageId is a numeric Page id' })),
  userAccessToken: z.string().check(z.minLength(1), z.maxLength(4096)),
  /**
   * True only when the person granted `user_messenger_contact` in this very login (your Login
   * flow saw the grant happen). A returning person whose grant persists is not a new opt-in and
   * gets no new first message. @default false
   */
  newGrant: z._default(z.boolean(), false),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export type LoginResult =
  | { accepted: true; loginId: string; job: OptinJob }
  | { accepted: false; status: 409 | 502; rule: string; message: string };

/**
 * A successful Facebook Login reported by the business's backend, so the first message can go
 * out before (or without) the `messaging_optins` webhook. The person's grant is checked with
 * Graph; the `login_id` is derived as Facebook derives it, so the webhook, when it comes, meets
 * the same record and no second message is sent.
 */
export async function acceptLogin(
  request: LoginRequest,
  deps: { secrets: AppSecrets; permissions: PermissionsLookup; people: PersonStore },
  nowMs: number,
): Promise<LoginResult> {
  if (!request.newGrant)
    return {
      accepted: false,
      status: 409,
      rule: 'grant_not_new',
      message:
        'A login is not an opt-in: send newGrant: true only when the person has just granted user_messenger_contact.',
    };
  const { loginApp } = deps.secrets;
  if (!loginApp)
    return {
      accepted: false,
      status: 409,
      rule: 'login_app_not_configured',
      message: 'Put loginApp { appId, clientToken } in the secret to derive login_ids.',
    };
  if (!deps.secrets.pages[request.pageId]) {
    return {
      accepted: false,
      status: 409,
      rule: 'page_not_configured',
      message: `No access token for Page ${request.pageId} in the secret.`,
    };
  }
  const permissions = await deps.permissions(request.asid, request.userAccessToken);
  if (!permissions.ok) {
    const tokenProblem =
      permissions.code === 190 || permissions.httpStatus === 400 || permissions.httpStatus === 401;
    return tokenProblem
      ? {
          accepted: false,
          status: 409,
          rule: 'permission_check_failed',
          message: `Graph refused the user access token: ${permissions.message}`,
        }
      : {
          accepted: false,
          status: 502,
          rule: 'graph_unavailable',
          message: `Could not check permissions with Graph: ${permissions.message}`,
        };
  }
  if (!permissions.granted.has('user_messenger_contact')) {
    return {
      accepted: false,
      status: 409,
      rule: 'permission_not_granted',
      message: 'The person did not grant user_messenger_contact: they may not be messaged.',
    };
  }
  const asid = { kind: 'asid' as const, id: request.asid };
  const suppression = await deps.people.suppressionOf(asid);
  if (suppression)
    return {
      accepted: false,
      status: 409,
      rule: 'opted_out',
      message: `The person opted out (${suppression.source}: ${suppression.reason}).`,
    };

  const loginId = loginIdFor({
    asid: request.asid,
    appId: loginApp.appId,
    pageId: request.pageId,
    clientToken: loginApp.clientToken,
  });
  // Login Connect grants one first message per login_id: never a second, whatever came since.
  const state = await deps.people.recipientState({ loginId });
  if (state.lockedPageId !== undefined || state.firstMessage?.status === 'sent')
    return {
      accepted: false,
      status: 409,
      rule: 'first_message_already_sent',
      message: `A first message already went to this person through Page ${state.lockedPageId ?? state.firstMessage?.pageId}.`,
    };
  await deps.people.link(asid, { kind: 'login', id: loginId }, { pageId: request.pageId }, nowMs);
  return {
    accepted: true,
    loginId,
    job: {
      v: 1,
      kind: 'optin',
      pageId: request.pageId,
      loginId,
      optinAt: nowMs,
      receivedAt: nowMs,
      source: 'login',
    },
  };
}
