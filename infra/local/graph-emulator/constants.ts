/** Graph's vocabulary as the emulator knows it: recipient kinds, messaging types, Page fields. */

export const DAY_MS = 24 * 60 * 60 * 1000;

export const RECIPIENT_KEYS = [
  'id',
  'login_id',
  'user_ref',
  'notification_messages_token',
  'one_time_notif_token',
  'post_id',
  'comment_id',
  'phone_number',
] as const;
export const MESSAGING_TYPES = ['RESPONSE', 'UPDATE', 'MESSAGE_TAG'];
/** What every Page of the secret is subscribed to until the control API says otherwise. */
export const DEFAULT_SUBSCRIBED_FIELDS = [
  'messaging_optins',
  'messages',
  'messaging_postbacks',
  'message_deliveries',
  'message_reads',
];
/** Page webhook fields the emulator knows (a subset of Graph's; others are refused). */
export const PAGE_FIELDS = new Set([
  ...DEFAULT_SUBSCRIBED_FIELDS,
  'message_echoes',
  'messaging_referrals',
  'messaging_handovers',
  'messaging_policy_enforcement',
  'messaging_account_linking',
  'message_reactions',
  'standby',
  'feed',
]);
/** The emulated Messenger app, as subscribed_apps lists it. */
export const EMULATED_APP = { id: '3000000000000003', name: 'Login Connect (emulated app)' };
export const NOTIFICATION_TYPES = ['REGULAR', 'SILENT_PUSH', 'NO_PUSH'];
export const DEFAULT_PERMISSIONS = ['public_profile', 'user_messenger_contact'];
