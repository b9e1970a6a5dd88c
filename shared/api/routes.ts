/**
 * The routes of the API function, as HTTP API route keys. The CDK stack and the local stack both
 * route exactly these to it.
 */

/** The business's own calls: each needs `Authorization: Bearer <key>`; throttled in AWS. */
export const API_ROUTES = [
  'POST /logins',
  'POST /optouts',
  'POST /messages',
  'GET /messages/{id}',
] as const;

/** Called by Facebook (signed) or by the person (an unguessable code): no bearer key. */
export const PUBLIC_ROUTES = [
  'POST /facebook/data-deletion',
  'GET /facebook/data-deletion/{code}',
] as const;

export type ApiRoute = (typeof API_ROUTES)[number];
export type PublicRoute = (typeof PUBLIC_ROUTES)[number];
