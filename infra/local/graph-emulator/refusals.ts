/** Refusals: Graph's error objects, with the status each is answered with. */
import type { z } from 'zod';
import type { GraphError } from './types';

export type ErrorFields = Omit<GraphError, 'fbtrace_id'>;
export interface Refusal {
  status: number;
  error: ErrorFields;
}

export function refusal(
  code: number,
  message: string,
  options: { subcode?: number; type?: string; status?: number } = {},
): Refusal {
  return {
    status: options.status ?? 400,
    error: {
      message,
      type: options.type ?? 'OAuthException',
      code,
      ...(options.subcode !== undefined ? { error_subcode: options.subcode } : {}),
    },
  };
}

/** Graph's wordings where our reference quotes them; the others are marked UNCONFIRMED. */
export const REFUSE = {
  noTokenMe: () =>
    refusal(
      2500,
      'An active access token must be used to query information about the current user.',
    ),
  // Graph's answer for a node other than /me without a token.
  noToken: () => refusal(104, 'An access token is required to request this resource.'),
  badToken: () => refusal(190, 'Invalid OAuth access token - Cannot parse access token'),
  badProof: () =>
    refusal(100, 'Invalid appsecret_proof provided in the API argument', {
      type: 'GraphMethodException',
    }),
  needProof: () =>
    refusal(100, 'API calls from the server require an appsecret_proof argument', {
      type: 'GraphMethodException',
    }),
  unsupported: (method: string, node: string) =>
    refusal(
      100,
      `Unsupported ${method.toLowerCase()} request. Object with ID '${node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      { subcode: 33, type: 'GraphMethodException' },
    ),
  param: (message: string, subcode?: number) =>
    refusal(100, `(#100) ${message}`, subcode !== undefined ? { subcode } : {}),
  /** A parameter outside its list of values. */
  oneOf: (param: string, values: readonly string[], got: unknown) =>
    refusal(
      100,
      `(#100) Param ${param} must be one of {${values.join(', ')}} - got "${String(got)}"`,
    ),
  noUser: () => refusal(100, '(#100) No matching user found', { subcode: 2018001 }),
  // UNCONFIRMED: the reference (section 4 and 8) found no documented error for a second Page
  // messaging a locked login_id; this code and wording are ours.
  locked: () =>
    refusal(
      100,
      '(#100) This login_id can only be messaged by the Page it was first messaged through',
    ),
  window: () =>
    refusal(10, '(#10) This message is sent outside of allowed window.', { subcode: 2018278 }),
  // UNCONFIRMED wording: the FAQ forbids tags on the initial message but no error is documented.
  tagFirst: () =>
    refusal(100, '(#100) Message Tags cannot be used for the initial message to a login_id'),
  unavailable: () => refusal(551, "(#551) This person isn't available right now."),
  // Messenger changelog, 25 June 2026: 10/1893063. UNCONFIRMED wording.
  restricted: () =>
    refusal(10, '(#10) This Page is temporarily restricted from sending messages.', {
      subcode: 1893063,
    }),
  revoked: () =>
    refusal(
      190,
      'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
      { subcode: 460 },
    ),
  // UNCONFIRMED wording: a Page token without pages_manage_metadata subscribing the app.
  noSubscribePermission: () => refusal(200, '(#200) Permissions error', { status: 403 }),
};

export const SERVER_ERROR: ErrorFields = {
  code: 2,
  type: 'OAuthException',
  message: 'An unexpected error has occurred. Please retry your request later.',
};

/** `message[quick_replies][0][title]`, the way Graph names nested params. */
const paramName = (root: string, path: readonly PropertyKey[]) =>
  root + path.map((p) => `[${String(p)}]`).join('');

/** Our MessageSchema's first issue, worded like Graph's (#100) param errors. */
export function messageRefusal(issues: readonly z.core.$ZodIssue[]): Refusal {
  const issue = issues[0];
  if (!issue) return REFUSE.param('Param message is invalid');
  const name = paramName('message', issue.path);
  if (issue.code === 'unrecognized_keys') {
    return REFUSE.param(`Param ${name}[${issue.keys[0] ?? ''}] is not a valid parameter`);
  }
  const max = /^must be at most (\d+) characters$/.exec(issue.message);
  if (max) return REFUSE.param(`Length of param ${name} must be less than or equal to ${max[1]}`);
  if (
    (issue.path.length === 0 && issue.message.startsWith('needs exactly one of text')) ||
    (issue.path.length === 1 && issue.path[0] === 'text' && issue.message === 'must not be empty')
  ) {
    // 100/2018034 per the reference; an empty message has neither text nor attachment.
    return REFUSE.param('Message cannot be empty, must provide valid attachment or text', 2018034);
  }
  const separator = /^[a-z]/.test(issue.message) ? ' ' : ': ';
  return REFUSE.param(`Param ${name}${separator}${issue.message}`);
}
