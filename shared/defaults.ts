import type { UnknownOutcomePolicy } from './login-connect/send-errors';

/**
 * The default of every operator setting (`SettingsSchema` in `settings.ts` takes its defaults
 * from here), and what a function falls back to when its environment leaves a variable out
 * (`config.ts`). Plain data without zod, so a function bundle can import it for nothing.
 */
export const DEFAULT_SETTINGS = {
  graphApiUrl: 'https://graph.facebook.com',
  graphApiVersion: 'v25.0',
  graphTimeoutSeconds: 10,
  sendRetryBaseSeconds: 30,
  sendRetryMaxSeconds: 900,
  sendUnknownOutcome: 'retry' as UnknownOutcomePolicy,
  humanAgentEnabled: false,
  senderBatchSize: 10,
  senderMaxConcurrency: 5,
  senderTimeoutSeconds: 30,
  retention: { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 },
  sweepIntervalMinutes: 5,
  pageBackoffBaseSeconds: 60,
  pageBackoffMaxSeconds: 3600,
  pageWatch: { intervalMinutes: 15, optinSilenceHours: 24 },
  secretsMaxAgeSeconds: 300,
  webhookThrottle: { rateLimit: 200, burstLimit: 400 },
  apiThrottle: { rateLimit: 50, burstLimit: 100 },
  apiFirewall: { enabled: false, webhookPerIpPerMinute: 1200, apiPerIpPerMinute: 300 },
  alarms: { senderErrorRatePercent: 20, webhookServerErrorCount: 1 },
  firstMessagesFile: 'infra/first-messages.json',
  destroyOnRemoval: false,
} as const;

/** What the settings below derive values from: the defaults' shape, with any values. */
type Timing = { senderTimeoutSeconds: number };

/**
 * The claim lease of a send attempt. It outlives any invocation that took it: Lambda kills an
 * invocation at its timeout, so a lease still held after that belongs to a dead sender.
 */
export function sendLeaseSeconds(settings: Timing): number {
  return settings.senderTimeoutSeconds + 5;
}

/**
 * How long an opt-in may sit past its lease or retry time before the sweeper takes it up: past
 * the queue's visibility timeout (6 × the sender timeout), SQS has had its chance.
 */
export function sweepGraceSeconds(settings: Timing): number {
  return settings.senderTimeoutSeconds * 6 + 60;
}
