/**
 * The routes of the business's API, as HTTP API route keys. The CDK stack and the local stack both
 * route exactly these to the API function; all of them need a bearer key.
 */
export const API_ROUTES = ['POST /optouts'] as const;

export type ApiRoute = (typeof API_ROUTES)[number];
