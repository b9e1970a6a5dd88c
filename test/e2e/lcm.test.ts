import { randomBytes } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { keys } from '../../shared/store/table-definition';
import { callApi, optinItem, optinWithStatus, pageWebhook } from '../helpers/e2e-person';
import { API_KEY, HOUR_MS, optinJob, PAGE_ID, PAGE_TOKEN, uniqueId } from '../helpers/factories';
import { type LcmRun, runLcm, runLcmJson } from '../helpers/lcm-cli';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * `lcm` as an operator runs it: the real bin as a child process against one local stack, with a
 * few lives driven through it (a sent opt-in with a retry, a reply, a receipt, a follow-up and a
 * linked ASID; an opt-in that arrived 25 h late; one Facebook refused as opted out).
 */
const FOLLOWUP_TEXT = 'Your order 4411 shipped.';
const REPLY_TEXT = 'Thanks, see you!';
const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };

const stack = useLocalStack({ env: { SEND_RETRY_BASE_SECONDS: '1' } });
/** The person whose whole story is told: login_id ↔ PSID ↔ ASID. */
const person = { loginId: newLoginId(), psid: '', asid: uniqueId('1'), mid: '', followupId: '' };
const expiredLoginId = newLoginId();
const optedOutLoginId = newLoginId();
const rejectedLoginId = newLoginId();

function newLoginId(): string {
  return randomBytes(32).toString('hex');
}
const webhook = (items: unknown[]) => pageWebhook(items);
const statusOf = (loginId: string, status: string) => optinWithStatus(stack, loginId, status);

async function post(body: string): Promise<void> {
  const response = await stack.postWebhook(body);
  if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
  return (await callApi(stack, method, path, body)).body as { id?: string; status?: string };
}

type Run = LcmRun;

/** Runs the real CLI, as `npx lcm … --local` would, against this test's stack. */
const lcm = (...args: string[]): Promise<Run> => runLcm(stack, ...args);
const lcmJson = <T = Record<string, unknown>>(...args: string[]) => runLcmJson<T>(stack, ...args);

/**
 * The rows of the table whose header line matches `header`, split into cells at the gutters
 * (columns of spaces at least two wide on every line). Misaligned columns leave no gutter where
 * one is expected, so their cells merge and the assertions on them fail.
 */
function tableRows(text: string, header: RegExp): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => header.test(line));
  if (start < 0) throw new Error(`no table headed ${header} in:\n${text}`);
  const end = lines.findIndex((line, i) => i > start && line.trim() === '');
  const block = lines.slice(start, end < 0 ? undefined : end);
  const width = Math.max(...block.map((line) => [...line].length));
  const chars = block.map((line) => [...line]);
  const blank = Array.from({ length: width }, (_, p) =>
    chars.every((line) => (line[p] ?? ' ') === ' '),
  );
  const gutter = blank.map((b, p) => b && (blank[p - 1] === true || blank[p + 1] === true));
  const spans: Array<[number, number]> = [];
  for (let p = 0; p < width; p += 1) {
    if (gutter[p]) continue;
    const from = p;
    while (p < width && !gutter[p]) p += 1;
    spans.push([from, p]);
  }
  return chars.map((line) => spans.map(([from, to]) => line.slice(from, to).join('').trim()));
}

beforeAll(async () => {
  await Promise.all([
    (async () => {
      // A first message that needs a retry, then a delivery receipt, a reply, an unhandled
      // event, a follow-up and a linked ASID.
      const { loginId } = person;
      await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
      await stack.emulator('faults', { loginId, kind: 'server_error', times: 1 });
      await post(webhook([optinItem(loginId)]));
      await statusOf(loginId, 'sent');
      const [sent] = await stack.emulator<Array<{ messageId: string; recipientId: string }>>(
        `messages?loginId=${loginId}`,
      );
      person.mid = sent?.messageId ?? '';
      person.psid = sent?.recipientId ?? '';
      const replyAt = Date.now();
      await stack.emulator('user-messages', {
        psid: person.psid,
        pageId: PAGE_ID,
        timestamp: replyAt,
      });
      await post(
        webhook([
          {
            sender: { id: person.psid },
            recipient: { id: PAGE_ID },
            delivery: { mids: [person.mid], watermark: Date.now() },
          },
          {
            sender: { id: person.psid },
            recipient: { id: PAGE_ID },
            timestamp: replyAt,
            message: { mid: `m_${newLoginId()}`, text: REPLY_TEXT },
            prior_message: { source: 'fb_login', identifier: loginId },
          },
          {
            sender: { id: person.psid },
            recipient: { id: PAGE_ID },
            timestamp: Date.now(),
            // No emoji: fauxqs refuses characters beyond U+FFFF, which real SQS accepts.
            reaction: { mid: person.mid, action: 'react', reaction: 'like' },
          },
        ]),
      );
      await eventually(
        async () => {
          const record = await stack.optinRecord(loginId);
          const profile = await stack.doc.send(
            new GetCommand({
              TableName: stack.info.tableName,
              Key: keys.profile(person.psid),
              ConsistentRead: true,
            }),
          );
          return record?.receipt === 'delivered' && profile.Item?.loginId ? true : undefined;
        },
        15_000,
        'the receipt and the link',
      );
      const accepted = await api('POST', '/messages', {
        to: { loginId },
        message: { text: FOLLOWUP_TEXT },
      });
      person.followupId = accepted.id ?? '';
      await eventually(
        async () =>
          (await api('GET', `/messages/${person.followupId}`)).status === 'sent' ? true : undefined,
        15_000,
        'the follow-up',
      );
      await new DynamoDbPersonStore(stack.doc, stack.info.tableName, RETENTION).link(
        { kind: 'asid', id: person.asid },
        { kind: 'login', id: loginId },
        { pageId: PAGE_ID },
        Date.now(),
      );
    })(),
    (async () => {
      // The opt-in reached the sender 25 h after it was made (the queue held it through an
      // outage): the window had closed before any attempt.
      const then = Date.now() - 25 * HOUR_MS;
      await stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.info.queueUrl,
          MessageBody: JSON.stringify(
            optinJob({ loginId: expiredLoginId, optinAt: then, receivedAt: then }),
          ),
        }),
      );
      await statusOf(expiredLoginId, 'expired');
    })(),
    (async () => {
      // A webhook opt-in whose timestamp is in seconds: it breaks the contract, so it is
      // recorded as rejected and never sent.
      await post(webhook([optinItem(rejectedLoginId, Math.floor(Date.now() / 1000))]));
      await eventually(
        async () => ((await stack.rejectedOptins(rejectedLoginId)).length > 0 ? true : undefined),
        15_000,
        'the rejected opt-in',
      );
    })(),
    (async () => {
      // The person turned off messages: Facebook answers 551.
      await stack.emulator('optins', { loginId: optedOutLoginId, pageId: PAGE_ID });
      await stack.emulator('optouts', { loginId: optedOutLoginId });
      await post(webhook([optinItem(optedOutLoginId)]));
      await statusOf(optedOutLoginId, 'opted_out');
    })(),
  ]);
}, 90_000);

describe('lcm inspect', () => {
  it("tells a person's whole story by login_id, in aligned sections", async () => {
    const run = await lcm('inspect', person.loginId);
    const out = run.stdout;

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(out).toContain(
      `login_id ${person.loginId}  found as login_id; 2 other identifiers linked`,
    );
    expect(
      tableRows(out, /^ {2}kind +id$/)
        .slice(1)
        .sort(),
    ).toEqual(
      [
        ['asid', person.asid],
        ['login_id', person.loginId],
        ['psid', person.psid],
      ].sort(),
    );
    expect(out).toMatch(/^ {2}status +sent$/m);
    expect(out).toMatch(/^ {2}window +ends \S+ {2}\(open, closes in 23 h\)$/m);
    expect(out).toMatch(/^ {2}attempts +2, last (\d+ s ago|just now)$/m);
    expect(out).toMatch(/^ {2}receipt +delivered (\d+ s ago|just now)$/m);
    expect(out).toMatch(new RegExp(`^ {2}message id +${person.mid}$`, 'm'));
    expect(out).toMatch(new RegExp(`^ {2}lock +Page ${PAGE_ID}, since`, 'm'));
    expect(tableRows(out, /^ {4}# +at +kind/)[1]).toEqual([
      '1',
      expect.stringMatching(/ago$/),
      'transient',
      '2',
      '500',
      expect.stringMatching(/^An unexpected error/),
    ]);
    expect(out).toContain('Suppressions  none');
    expect(tableRows(out, /^ {2}from +to +Page/).slice(1)).toHaveLength(2);
    expect(out).toMatch(new RegExp(`PSID profile {2}${person.psid}`));
    expect(tableRows(out, /^ {2}id +to +Page +status/)[1]).toEqual([
      person.followupId,
      `login_id ${person.loginId.slice(0, 12)}…`,
      PAGE_ID,
      'sent',
      'UPDATE',
      expect.stringMatching(/ago$|just now/),
      expect.stringMatching(/ago$|just now/),
      '1',
      '',
    ]);
    expect(tableRows(out, /^ {2}under +type/)[1]?.slice(0, 3)).toEqual([
      `psid ${person.psid}`,
      'reaction',
      'messaging',
    ]);
    for (const secret of [FOLLOWUP_TEXT, REPLY_TEXT, PAGE_TOKEN, API_KEY])
      expect(out).not.toContain(secret);
  });

  it('gives the same story as JSON, with ISO times and stable names', async () => {
    const view = await lcmJson<{
      query: unknown;
      checkedAt: string;
      identity: Array<{ kind: string }>;
      optins: Array<Record<string, unknown>>;
      links: unknown[];
      profiles: Array<Record<string, unknown>>;
      followups: Array<Record<string, unknown>>;
      events: Array<Record<string, unknown>>;
    }>('inspect', person.loginId);

    expect(view.query).toEqual({ kind: 'login', id: person.loginId });
    expect(view.checkedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(view.identity.map((id) => id.kind).sort()).toEqual(['asid', 'login', 'psid']);
    expect(view.optins).toEqual([
      expect.objectContaining({
        loginId: person.loginId,
        pageId: PAGE_ID,
        status: 'sent',
        windowOpen: true,
        sources: ['webhook'],
        attempts: 2,
        messageId: person.mid,
        recipientId: person.psid,
        receipt: 'delivered',
        deliveredAt: expect.stringMatching(/Z$/),
        errors: [expect.objectContaining({ attempt: 1, code: 2, httpStatus: 500 })],
      }),
    ]);
    expect(view.links).toHaveLength(2);
    expect(view.profiles).toEqual([
      expect.objectContaining({ psid: person.psid, loginId: person.loginId, windowOpen: true }),
    ]);
    expect(view.followups).toEqual([
      expect.objectContaining({ id: person.followupId, status: 'sent', messagingType: 'UPDATE' }),
    ]);
    expect(view.events).toEqual([expect.objectContaining({ eventType: 'reaction' })]);
    expect(JSON.stringify(view)).not.toContain(FOLLOWUP_TEXT);
  });

  it('finds the same person by PSID and by ASID', async () => {
    const [byPsid, byAsid, human] = await Promise.all([
      lcmJson<{ query: unknown; optins: Array<{ loginId: string }> }>('inspect', person.psid),
      lcmJson<{ query: unknown; optins: Array<{ loginId: string }> }>('inspect', person.asid),
      lcm('inspect', person.asid),
    ]);

    expect(byPsid.query).toEqual({ kind: 'psid', id: person.psid });
    expect(byPsid.optins.map((o) => o.loginId)).toEqual([person.loginId]);
    expect(byAsid.query).toEqual({ kind: 'asid', id: person.asid });
    expect(byAsid.optins.map((o) => o.loginId)).toEqual([person.loginId]);
    expect(human.stdout).toContain(
      `asid ${person.asid}  found as asid; 2 other identifiers linked`,
    );
    expect(human.stdout).toContain(`Opt-in  login_id ${person.loginId}  Page ${PAGE_ID}`);
  });

  it('explains an expired and an opted-out opt-in', async () => {
    const [expired, optedOut] = await Promise.all([
      lcm('inspect', expiredLoginId),
      lcm('inspect', optedOutLoginId),
    ]);

    expect(expired.stdout).toMatch(/^ {2}status +expired \(window_closed_before_first_attempt\)$/m);
    expect(expired.stdout).toMatch(/^ {2}window +ends \S+ {2}\(closed 1 h ago\)$/m);
    expect(optedOut.stdout).toMatch(/^ {2}status +opted_out \(send_api_not_receiving\)$/m);
    expect(tableRows(optedOut.stdout, /^ {2}identifier +source/)[1]).toEqual([
      `login_id ${optedOutLoginId.slice(0, 12)}…`,
      'send_api',
      'send_api_not_receiving',
      '551',
      expect.stringMatching(/ago$|just now/),
    ]);
  });

  it('shows an opt-in that broke the contract as rejected, with the reason, as text and JSON', async () => {
    const [run, view] = await Promise.all([
      lcm('inspect', rejectedLoginId),
      lcmJson<{ identity: unknown[]; rejected: Array<Record<string, unknown>> }>(
        'inspect',
        rejectedLoginId,
      ),
    ]);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`login_id ${rejectedLoginId}  found only as a rejected opt-in`);
    expect(tableRows(run.stdout, /^ {2}received +Page +item +reason$/)[1]).toEqual([
      expect.stringMatching(/ago$|just now/),
      PAGE_ID,
      expect.stringMatching(/^[0-9a-f]{12}… \d+ bytes$/),
      'timestamp: is older than the 24 h window (or is not in milliseconds)',
    ]);
    expect(view.identity).toEqual([]);
    expect(view.rejected).toEqual([
      expect.objectContaining({
        loginId: rejectedLoginId,
        pageId: PAGE_ID,
        reason: 'timestamp: is older than the 24 h window (or is not in milliseconds)',
        itemExcerpt: expect.stringContaining(rejectedLoginId),
      }),
    ]);
  });

  it('exits 1 and says what it means when nothing is found', async () => {
    const run = await lcm('inspect', 'no-such-person');

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lcm: Nothing found for no-such-person: no LOGIN#, PSID# or ASID#/);
  });
});

describe('lcm list', () => {
  it('lists the last 24 h newest first, and leaves out the 25-h-old opt-in', async () => {
    const run = await lcm('list');
    const rows = tableRows(run.stdout, /^opt-in +login_id +Page +status/);

    expect(run.code).toBe(0);
    expect(rows[0]).toEqual([
      'opt-in',
      'login_id',
      'Page',
      'status',
      'reason',
      'attempts',
      'opt-in→send',
      'receipt',
      'window',
    ]);
    expect(
      rows
        .slice(1)
        .map((row) => [row[1], row[3]])
        .sort(),
    ).toEqual(
      [
        [`${person.loginId.slice(0, 12)}…`, 'sent'],
        [`${optedOutLoginId.slice(0, 12)}…`, 'opted_out'],
        [`${rejectedLoginId.slice(0, 12)}…`, 'rejected'],
      ].sort(),
    );
    expect(run.stdout).toMatch(/^3 opt-ins since 24 h ago \(\S+\), newest first\.$/m);
  });

  it('lists rejected opt-ins with --status rejected', async () => {
    const view = await lcmJson<{ count: number; optins: Array<Record<string, unknown>> }>(
      'list',
      '--status',
      'rejected',
    );

    expect(view.count).toBe(1);
    expect(view.optins).toEqual([
      expect.objectContaining({
        loginId: rejectedLoginId,
        status: 'rejected',
        statusReason: 'timestamp: is older than the 24 h window (or is not in milliseconds)',
        receivedAt: expect.stringMatching(/Z$/),
        itemBytes: expect.any(Number),
      }),
    ]);
  });

  it('filters by status over a longer period, as text and as JSON', async () => {
    const [run, view] = await Promise.all([
      lcm('list', '--status', 'expired', '--since', '2d'),
      lcmJson<{ count: number; status: string; optins: Array<Record<string, unknown>> }>(
        'list',
        '--status',
        'expired',
        '--since',
        '2d',
      ),
    ]);

    expect(tableRows(run.stdout, /^opt-in +login_id/).slice(1)).toEqual([
      [
        '25 h ago',
        `${expiredLoginId.slice(0, 12)}…`,
        PAGE_ID,
        'expired',
        'window_closed_before_first_attempt',
        '0',
        '',
        '',
        'closed 1 h ago',
      ],
    ]);
    expect(view).toMatchObject({ count: 1, status: 'expired', more: false });
    expect(view.optins).toEqual([
      expect.objectContaining({
        loginId: expiredLoginId,
        status: 'expired',
        statusReason: 'window_closed_before_first_attempt',
        windowOpen: false,
        optinAt: expect.stringMatching(/Z$/),
      }),
    ]);
  });
});

describe('lcm stats', () => {
  it('counts per status and Page, with the opt-in→send latency', async () => {
    const [run, view] = await Promise.all([
      lcm('stats', '--since', '2d'),
      lcmJson<{
        total: number;
        byStatus: Record<string, number>;
        byPage: unknown[];
        latencyMs: Record<string, number>;
      }>('stats', '--since', '2d'),
    ]);

    expect(tableRows(run.stdout, /^status +count +share$/).slice(1)).toEqual(
      expect.arrayContaining([
        ['sent', '1', '25 %'],
        ['expired', '1', '25 %'],
        ['opted_out', '1', '25 %'],
        ['failed', '0', '0 %'],
        ['rejected', '1', '25 %'],
      ]),
    );
    expect(tableRows(run.stdout, /^Page +total/)).toEqual([
      ['Page', 'total', 'sent', 'expired', 'opted_out', 'rejected'],
      [PAGE_ID, '4', '1', '1', '1', '1'],
    ]);
    expect(run.stdout).toMatch(/^opt-in→send \(1 sent\): p50 [\d.]+ m?s {2}p90 .* p99 .* max /m);
    expect(view).toMatchObject({
      total: 4,
      byStatus: { sent: 1, expired: 1, opted_out: 1, pending: 0, rejected: 1 },
      byPage: [{ pageId: PAGE_ID, total: 4 }],
      latencyMs: { count: 1 },
    });
    expect(view.latencyMs.p50).toBeGreaterThan(0);
    expect(view.latencyMs.p99).toBe(view.latencyMs.p50);
  });
});

describe('lcm redrive', () => {
  it('counts a dead letter on a dry run, then moves it and the sender sends it', async () => {
    const loginId = newLoginId();
    await stack.emulator('optins', { loginId, pageId: PAGE_ID });
    const now = Date.now();
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.info.deadLetterQueueUrl,
        MessageBody: JSON.stringify(optinJob({ loginId, optinAt: now, receivedAt: now })),
      }),
    );

    const dryRun = await lcm('redrive', '--dry-run');
    const dryView = await lcmJson<{ count: number; kinds: Record<string, number> }>(
      'redrive',
      '--dry-run',
    );
    const moved = await lcm('redrive');
    await statusOf(loginId, 'sent');
    const after = await lcmJson<{ count: number }>('redrive', '--dry-run');

    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('Dry run: would move 1 message; nothing was moved.');
    expect(tableRows(dryRun.stdout, /^kind +count$/)).toEqual([
      ['kind', 'count'],
      ['opt-in', '1'],
    ]);
    expect(tableRows(dryRun.stdout, /^sqs message id/)[1]?.slice(1, 3)).toEqual([
      'opt-in',
      `login_id ${loginId.slice(0, 12)}…, Page ${PAGE_ID}`,
    ]);
    expect(dryView).toMatchObject({ count: 1, kinds: { optin: 1, event: 0, followup: 0 } });
    // Progress goes to stderr (a pipe here: no line from a command this short); stdout is the answer.
    expect(moved.stderr).toBe('');
    expect(moved.stdout).not.toMatch(/^moved 1 message$/m);
    expect(moved.stdout).toContain('Moved 1 message to the send queue.');
    expect(after.count).toBe(0);
  });
});

describe('lcm optout', () => {
  it('suppresses every linked identifier by ASID, and inspect then shows it', async () => {
    const run = await lcm('optout', person.asid, '--reason', 'asked by phone');
    const view = await lcmJson<{ suppressions: Array<Record<string, unknown>> }>(
      'inspect',
      person.loginId,
    );
    const inspected = await lcm('inspect', person.psid);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Opted out asid ${person.asid} (reason: asked by phone). 3 identifiers now suppressed:`,
    );
    // This stack's secret has no Login app: the ASID's unlinked login_ids cannot be derived.
    expect(run.stdout).toContain('Note: the secret has no loginApp to derive login_ids');
    expect(
      tableRows(run.stdout, /^ {2}identifier +source/)
        .slice(1)
        .map((row) => row.slice(1, 3)),
    ).toEqual([
      ['api', 'asked by phone'],
      ['api', 'asked by phone'],
      ['api', 'asked by phone'],
    ]);
    expect(view.suppressions.map((s) => [s.kind, s.source, s.reason]).sort()).toEqual([
      ['asid', 'api', 'asked by phone'],
      ['login', 'api', 'asked by phone'],
      ['psid', 'api', 'asked by phone'],
    ]);
    expect(tableRows(inspected.stdout, /^ {2}identifier +source/).slice(1)).toHaveLength(3);
  });

  it("keeps Facebook's stronger suppression, and says so in JSON", async () => {
    const view = await lcmJson<{ identifiers: unknown[]; suppressions: unknown[] }>(
      'optout',
      optedOutLoginId,
    );

    expect(view.identifiers).toEqual([{ kind: 'login', id: optedOutLoginId }]);
    expect(view.suppressions).toEqual([
      expect.objectContaining({ kind: 'login', source: 'send_api', code: 551 }),
    ]);
  });
});
