/** The emulator's public types: its options, what the control API takes, and what it shows. */
import type { AppSecrets } from '../../../shared/secrets';
import type { Fault, Flaky } from './faults';

export interface GraphEmulatorOptions {
  /** @default 0, any free port */
  port?: number;
  /** Must be a loopback address: the emulator accepts real-looking tokens. @default '127.0.0.1' */
  host?: string;
  /** The secret document; called on every request so that edits apply at once. */
  secrets: () => Promise<AppSecrets> | AppSecrets;
  /** Epoch ms; injectable so tests can move across the 24 h window. @default Date.now */
  now?: () => number;
  /** Refuse sends without `appsecret_proof`, as an app with "Require App Secret" does. @default true */
  requireAppSecretProof?: boolean;
  /** Called after each send request is answered (or abandoned), with the redacted record. */
  onRequest?: (request: RecordedRequest) => void;
}

/** Graph's error object. */
export interface GraphError {
  message: string;
  type: string;
  code: number;
  error_subcode?: number;
  fbtrace_id: string;
}

export interface OptinInput {
  loginId: string;
  pageId: string | number;
  /** Epoch ms. @default now */
  timestamp?: number;
}

export interface Optin {
  loginId: string;
  pageId: string;
  optedInAt: number;
  /** The last instant (epoch ms) a first message is accepted. */
  windowClosesAt: number;
  /** When the first message was accepted; set once the login_id is locked to `pageId`. */
  lockedAt?: number;
}

/** One person turning off messages, named by their login_id or by a PSID. */
export type Optout = (
  | { loginId: string; psid?: undefined }
  | { psid: string; loginId?: undefined }
) & {
  /** Only this Page is refused; all Pages when absent. */
  pageId?: string;
};

export type OptoutInput = (
  | { loginId: string; psid?: undefined }
  | { psid: string | number; loginId?: undefined }
) & { pageId?: string | number };

export interface UserMessageInput {
  /** The person's PSID for `pageId`: digits, as in `sender.id` of a `messages` webhook. */
  psid: string | number;
  pageId: string | number;
  /** Epoch ms the person sent it. @default now */
  timestamp?: number;
}

/** The latest message a person sent to a Page, which opens their 24 h window. */
export interface UserMessage {
  psid: string;
  pageId: string;
  lastMessageAt: number;
  /** The last instant (epoch ms) an UPDATE/RESPONSE to this PSID is accepted. */
  windowClosesAt: number;
}

/** A PSID the Page knows; `loginId` when it is that login_id's linked PSID (its recipient_id). */
export interface KnownPsid {
  psid: string;
  pageId: string;
  loginId?: string;
}

export interface PermissionsInput {
  userId: string;
  granted?: string[];
  declined?: string[];
}

export interface RecordedMessage {
  messageId: string;
  pageId: string;
  recipient: Record<string, string>;
  messagingType: string;
  tag?: string;
  notificationType?: string;
  message: Record<string, unknown>;
  /** ISO time the emulator accepted it (its clock). */
  at: string;
  /** Absent for `user_ref` and `phone_number` recipients, as in Graph. */
  recipientId?: string;
}

export interface RecordedRequest {
  /** ISO time the request arrived (the emulator's clock). */
  at: string;
  method: string;
  /** Path only: the query string can hold the token and proof. */
  path: string;
  pageId?: string;
  recipient?: Record<string, unknown>;
  messagingType?: string;
  /** Where the access token was found, to check that a client keeps it out of URLs. */
  tokenIn?: 'body' | 'query' | 'header';
  /** HTTP status answered; 499 when the client left before the answer. */
  status: number;
  outcome: 'accepted' | 'refused' | 'fault' | 'aborted';
  error?: GraphError;
  messageId?: string;
  faultId?: number;
  /** The answer was drawn by the flaky setting. */
  flaky?: true;
}

/** Graph's usage numbers, as its headers spell them (percentages; the estimate in minutes). */
export interface UsageNumbers {
  type?: string;
  call_count?: number;
  total_cputime?: number;
  total_time?: number;
  estimated_time_to_regain_access?: number;
}

export interface UsageInput {
  pageId?: string | number;
  app?: UsageNumbers;
  business?: UsageNumbers;
}

/** The app's subscription to one Page's webhooks. */
export interface Subscription {
  pageId: string;
  /** Empty: not subscribed. */
  fields: string[];
  /** POST subscribed_apps with the Page token is refused (it lacks pages_manage_metadata). */
  refuseSubscribe: boolean;
}

export interface SubscriptionInput {
  pageId: string | number;
  fields?: string[];
  refuseSubscribe?: boolean;
}

export interface Restriction {
  pageId: string;
  /** Epoch ms the restriction ends; absent: until cleared. */
  untilMs?: number;
}

export interface EmulatorState {
  optins: Optin[];
  locks: { loginId: string; pageId: string; lockedAt: number }[];
  optouts: Optout[];
  userMessages: UserMessage[];
  psids: KnownPsid[];
  faults: Fault[];
  flaky: Flaky | null;
  permissions: Required<PermissionsInput>[];
  restrictions: Restriction[];
  /** How many tokens were revoked per Page (the tokens themselves never appear). */
  revokedTokens: { pageId: string; count: number }[];
  usage: { app?: UsageNumbers; pages: { pageId: string; business: UsageNumbers }[] };
  subscriptions: Subscription[];
}

/** Thrown by the in-process accessors for invalid input; the control API answers 400. */
export class EmulatorInputError extends Error {
  override name = 'EmulatorInputError';
}
