import type { SendFailure } from '../login-connect/send-errors';

/*
 * The Graph API as the Login Connect rules see it: the types of the three calls they make and of
 * what comes back. The adapters beside this file (`send-api.ts`, `permissions.ts`,
 * `subscribed-apps.ts`) implement them over HTTP; tests give fakes.
 */

/** Where and how to reach the Graph API. */
export interface GraphConfig {
  /** e.g. `https://graph.facebook.com`, or a local emulator. No trailing slash needed. */
  baseUrl: string;
  /** e.g. `v25.0`. */
  version: string;
  timeoutMs: number;
}

/** The Send API request body, without credentials. */
export interface SendApiBody {
  recipient: { login_id: string } | { id: string };
  messaging_type: 'UPDATE' | 'RESPONSE' | 'MESSAGE_TAG';
  message: Record<string, unknown>;
  notification_type?: string;
  tag?: string;
}

/** `usage`: what Graph's usage headers said on the answer, when it sent them. */
export type SendOutcome =
  | { ok: true; httpStatus: number; messageId?: string; recipientId?: string; usage?: GraphUsage }
  | { ok: false; failure: SendFailure; usage?: GraphUsage };

export type SendMessage = (input: {
  accessToken: string;
  appSecret: string;
  body: SendApiBody;
}) => Promise<SendOutcome>;

/** One usage report: percentages of the limit, and when access comes back once throttled. */
export interface UsageEntry {
  /** `messenger`, `pages`…, for a Business Use Case entry. */
  type?: string;
  callCount?: number;
  totalCputime?: number;
  totalTime?: number;
  /** Minutes until calls are accepted again (0 when not throttled). */
  regainAccessMinutes?: number;
}

export interface GraphUsage {
  /** `X-App-Usage`. */
  app?: UsageEntry;
  /** `X-Business-Use-Case-Usage`, by business object id (a Page id for Page-token calls). */
  business?: Record<string, UsageEntry[]>;
}

/** What `GET /{user-id}/permissions` answered. */
export type PermissionsResult =
  | { ok: true; granted: Set<string> }
  | { ok: false; httpStatus?: number; code?: number; message: string };

/** Looks up the permissions a person granted the Login app, with their user access token. */
export type PermissionsLookup = (
  userId: string,
  userAccessToken: string,
) => Promise<PermissionsResult>;

/** One app subscribed to a Page's webhooks, as `GET /{page-id}/subscribed_apps` lists it. */
export interface SubscribedApp {
  id?: string;
  name?: string;
  fields: string[];
}

export type SubscribedAppsResult =
  | { ok: true; apps: SubscribedApp[] }
  | { ok: false; failure: SendFailure };
export type SubscribeResult = { ok: true } | { ok: false; failure: SendFailure };

export interface SubscribedAppsClient {
  /** `GET /{page-id}/subscribed_apps` with the Page token: the app's subscription to the Page. */
  list(pageId: string, accessToken: string, appSecret: string): Promise<SubscribedAppsResult>;
  /** `POST /{page-id}/subscribed_apps?subscribed_fields=…` with the Page token. */
  subscribe(
    pageId: string,
    fields: readonly string[],
    accessToken: string,
    appSecret: string,
  ): Promise<SubscribeResult>;
}
