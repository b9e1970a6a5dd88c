import { buildInspectView, explainOptin, renderInspect } from '../../../infra/cli/commands/inspect';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const LOGIN = 'a'.repeat(64);
const PSID = '7000000000000001';
const SECRET_TEXT = 'Your order 1234 shipped to 1 Main Street';

const items = [
  {
    pk: `LOGIN#${LOGIN}`,
    sk: 'OPTIN',
    loginId: LOGIN,
    pageId: '111',
    status: 'sent',
    optinAt: iso(NOW - 3 * HOUR),
    windowEndsAt: iso(NOW + 21 * HOUR),
    receivedAt: iso(NOW - 3 * HOUR),
    sources: new Set(['webhook', 'login']),
    attempts: 2,
    sentAt: iso(NOW - 3 * HOUR + 1500),
    messageId: 'm_1',
    recipientId: PSID,
    receipt: 'read',
    deliveredAt: iso(NOW - 2 * HOUR),
    readAt: iso(NOW - HOUR),
    errors: [
      {
        attempt: 1,
        kind: 'transient',
        code: 2,
        httpStatus: 500,
        message: 'Retry later',
        at: iso(NOW - 3 * HOUR),
      },
    ],
  },
  { pk: `LOGIN#${LOGIN}`, sk: 'LOCK', pageId: '111', lockedAt: iso(NOW - 3 * HOUR) },
  { pk: `LOGIN#${LOGIN}`, sk: `LINK#PSID#${PSID}`, pageId: '111', linkedAt: iso(NOW - HOUR) },
  { pk: `PSID#${PSID}`, sk: `LINK#LOGIN#${LOGIN}`, pageId: '111', linkedAt: iso(NOW - HOUR) },
  {
    pk: `PSID#${PSID}`,
    sk: 'SUPPRESSION',
    source: 'stop',
    reason: 'stop_notifications',
    suppressedAt: iso(NOW - 60_000),
  },
  {
    pk: `PSID#${PSID}`,
    sk: 'PROFILE',
    psid: PSID,
    pageId: '111',
    loginId: LOGIN,
    lastUserMessageAt: iso(NOW - 27 * HOUR),
    windowEndsAt: iso(NOW - 3 * HOUR),
  },
  {
    pk: `PSID#${PSID}`,
    sk: `EVENT#${iso(NOW - 120_000)}#postback#abc`,
    eventType: 'postback',
    channel: 'messaging',
    eventAt: iso(NOW - 120_000),
    payload: { postback: { title: SECRET_TEXT } },
  },
];
const outbound = [
  {
    pk: 'OUT#msg_1',
    sk: 'MESSAGE',
    id: 'msg_1',
    to: { loginId: LOGIN },
    pageId: '111',
    messagingType: 'UPDATE',
    message: { text: SECRET_TEXT },
    status: 'sent',
    receipt: 'delivered',
    attempts: 1,
    createdAt: iso(NOW - 600_000),
    sentAt: iso(NOW - 590_000),
  },
];
const view = buildInspectView({
  query: { kind: 'psid', id: PSID },
  identity: [
    { kind: 'psid', id: PSID },
    { kind: 'login', id: LOGIN },
  ],
  items,
  outbound,
  nowMs: NOW,
});

describe('cli/commands/inspect', () => {
  describe('buildInspectView()', () => {
    it("tells the opt-in's story with ISO times, sorted sources, latency and errors", () => {
      expect(view.optins).toEqual([
        expect.objectContaining({
          loginId: LOGIN,
          linked: true,
          status: 'sent',
          windowOpen: true,
          sources: ['login', 'webhook'],
          latencyMs: 1500,
          receipt: 'read',
          errors: [expect.objectContaining({ code: 2, message: 'Retry later' })],
        }),
      ]);
      expect(view.locks).toEqual([
        { loginId: LOGIN, pageId: '111', lockedAt: iso(NOW - 3 * HOUR) },
      ]);
    });

    it('shows a link written both ways once', () => {
      expect(view.links).toHaveLength(1);
    });

    it('keeps suppressions, the profile, follow-ups and events, never their content', () => {
      expect(view.suppressions).toEqual([
        expect.objectContaining({ kind: 'psid', id: PSID, source: 'stop' }),
      ]);
      expect(view.profiles).toEqual([expect.objectContaining({ psid: PSID, windowOpen: false })]);
      expect(view.followups).toEqual([
        expect.objectContaining({ id: 'msg_1', status: 'sent', receipt: 'delivered' }),
      ]);
      expect(view.events).toEqual([expect.objectContaining({ eventType: 'postback' })]);
      expect(JSON.stringify(view)).not.toContain(SECRET_TEXT);
    });
  });

  describe('renderInspect()', () => {
    const text = renderInspect(view, NOW);

    it('prints every section with relative times', () => {
      expect(text).toContain(`psid ${PSID}  found as psid; 1 other identifier linked`);
      expect(text).toContain(
        '  window        ends 2026-11-22T09:00:00.000Z  (open, closes in 21 h)',
      );
      expect(text).toContain(
        '  sent          2026-11-21T09:00:01.500Z  (2 h 59 min ago, 1.5 s after the opt-in)',
      );
      expect(text).toContain('  receipt       read 1 h ago (delivered 2 h ago)');
      expect(text).toContain('  lock          Page 111, since 3 h ago');
      expect(text).toContain('  window             closed 3 h ago (only tagged messages)');
      expect(text).toMatch(/psid 7000000000000001 +stop +stop_notifications +1 min ago/);
      expect(text).toMatch(/msg_1 +login_id aaaaaaaaaaaa… +111 +sent \(delivered\) +UPDATE/);
      expect(text).toMatch(/psid 7000000000000001 +postback +messaging +2 min ago/);
    });

    it('never prints message text', () => {
      expect(text).not.toContain(SECRET_TEXT);
    });
  });

  describe('explainOptin()', () => {
    it.each([
      [{ status: 'pending', lastError: {} }, /transient error; retrying/],
      [{ status: 'sending', leaseUntil: iso(NOW - 1000) }, /a worker died mid-attempt/],
      [{ status: 'sending', leaseUntil: iso(NOW + 1000) }, /being sent right now/],
      [{ status: 'expired', statusReason: 'window_closed_before_first_attempt' }, /late webhook/],
      [{ status: 'expired', statusReason: 'window_closed_unattended' }, /the sweeper found it/],
      [
        { status: 'opted_out', statusReason: 'suppressed:asked by email' },
        /suppressed before the send \(asked by email\)/,
      ],
      [
        { status: 'page_locked', statusReason: 'locked_to_page:222' },
        /another Page \(222\): send through the Page in LOCK/,
      ],
      [{ status: 'failed', statusReason: 'page_not_configured' }, /add it under pages/],
      [{ status: 'failed', statusReason: 'page_token_invalid' }, /put a new token in the secret/],
      [
        { status: 'pending', waitingFor: 'page_paused:page_restricted' },
        /its Page is paused \(page_restricted\): it waits, without attempts/,
      ],
      [
        { status: 'pending', lastError: { code: 190, subcode: 460 } },
        /its Page is paused \(token_invalid\)/,
      ],
      [
        { status: 'pending', lastError: { code: 10, subcode: 1893063 } },
        /its Page is paused \(page_restricted\)/,
      ],
      [{ status: 'pending', lastError: { code: 10, subcode: 2018278 } }, /transient error/],
      [
        { status: 'expired', statusReason: 'window_closed_while_page_paused' },
        /its Page stayed paused/,
      ],
    ])('explains %o', (item, explanation) => {
      expect(explainOptin(item, NOW)).toMatch(explanation);
    });
  });

  describe('rejected opt-ins', () => {
    const rejected = (receivedAtMs: number, reason: string) => ({
      pk: 'REJECTED#LOGIN#abc',
      sk: `OPTIN#${receivedAtMs}`,
      type: 'rejected_optin',
      status: 'rejected',
      statusReason: reason,
      loginId: ' padded ',
      pageId: '111',
      receivedAt: iso(receivedAtMs),
      rejectedAt: iso(receivedAtMs + 100),
      itemSha256: 'f'.repeat(64),
      itemBytes: 120,
      itemExcerpt: '{"optin":{"login_id":" padded "}}',
    });
    const only = buildInspectView({
      query: { kind: 'login', id: ' padded ' },
      identity: [],
      items: [],
      outbound: [],
      rejected: [
        rejected(NOW - 2 * HOUR, 'timestamp: must be a number of epoch milliseconds'),
        rejected(NOW - HOUR, 'optin.login_id: must not contain whitespace'),
      ],
      nowMs: NOW,
    });

    it('lists them newest first with the reason, hash and size', () => {
      expect(only.rejected.map((r) => [r.reason, r.itemBytes])).toEqual([
        ['optin.login_id: must not contain whitespace', 120],
        ['timestamp: must be a number of epoch milliseconds', 120],
      ]);
      expect(only.rejected[0]).toMatchObject({ loginId: ' padded ', pageId: '111' });
    });

    it('renders a login_id known only from rejected opt-ins without the person sections', () => {
      const text = renderInspect(only, NOW);

      expect(text).toContain('login_id  padded   found only as a rejected opt-in');
      expect(text).toMatch(/Rejected opt-ins \(broke the input contract; never sent\)/);
      expect(text).toMatch(/1 h ago +111 +ffffffffffff… 120 bytes +optin\.login_id: must not/);
      expect(text).not.toContain('Suppressions');
    });

    it('adds them to the story of a person found otherwise', () => {
      const withRejected = buildInspectView({
        query: { kind: 'psid', id: PSID },
        identity: [{ kind: 'psid', id: PSID }],
        items,
        outbound,
        rejected: [rejected(NOW - HOUR, 'timestamp: is more than 5 minutes in the future')],
        nowMs: NOW,
      });

      expect(renderInspect(withRejected, NOW)).toMatch(
        /Rejected opt-ins[^\n]*\n.*\n.*timestamp: is more than 5 minutes in the future/,
      );
      expect(view.rejected).toEqual([]);
    });
  });
});
