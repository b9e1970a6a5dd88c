import { createHash } from 'node:crypto';
import { serializeJob } from '../../../shared/aws/sqs-queue';
import {
  type EventJob,
  type OptinJob,
  QueueJobSchema,
  type RejectedOptinJob,
  RejectedOptinJobSchema,
} from '../../../shared/messages';
import { extractJobs } from '../../../shared/webhook/extract';
import { HOUR_MS, OTHER_PAGE_ID, optinItem, PAGE_ID, webhookBody } from '../../helpers/factories';

const RECEIVED = Date.parse('2026-11-21T10:00:00.000Z');

describe('webhook/extract', () => {
  describe('extractJobs()', () => {
    it('turns a Login Connect opt-in into an opt-in job with its own timestamp', () => {
      const at = RECEIVED - 5000;
      const body = webhookBody([{ messaging: [optinItem({ loginId: 'L1', timestamp: at })] }]);

      const jobs = extractJobs(body, RECEIVED);

      expect(jobs).toEqual([
        {
          v: 1,
          kind: 'optin',
          pageId: PAGE_ID,
          loginId: 'L1',
          optinAt: at,
          receivedAt: RECEIVED,
          source: 'webhook',
        },
      ]);
    });

    it('walks every entry and every messaging and standby item of a batch', () => {
      const entries = [PAGE_ID, OTHER_PAGE_ID, PAGE_ID].map((pageId, e) => ({
        pageId,
        messaging: Array.from({ length: 10 }, (_, i) =>
          optinItem({ pageId, loginId: `L${e}-${i}`, timestamp: RECEIVED }),
        ),
      }));
      const body = webhookBody([
        ...entries,
        { standby: [optinItem({ loginId: 'S1', timestamp: RECEIVED })] },
      ]);

      const jobs = extractJobs(body, RECEIVED);

      expect(jobs).toHaveLength(31);
      expect(new Set(jobs.map((j) => (j as OptinJob).loginId)).size).toBe(31);
      expect(jobs.filter((j) => j.kind === 'optin' && j.pageId === OTHER_PAGE_ID)).toHaveLength(10);
    });

    it('falls back to entry.time when the event has no timestamp', () => {
      const body = {
        object: 'page',
        entry: [
          {
            id: PAGE_ID,
            time: RECEIVED - 1000,
            messaging: [{ recipient: { id: PAGE_ID }, optin: { login_id: 'A' } }],
          },
        ],
      };

      expect(extractJobs(body, RECEIVED)).toMatchObject([
        { kind: 'optin', loginId: 'A', optinAt: RECEIVED - 1000 },
      ]);
    });

    it('uses entry.id as the Page when the recipient is missing', () => {
      const body = {
        object: 'page',
        entry: [{ id: '42', messaging: [{ timestamp: RECEIVED, optin: { login_id: 'L99' } }] }],
      };

      expect(extractJobs(body, RECEIVED)).toMatchObject([
        { kind: 'optin', pageId: '42', loginId: 'L99' },
      ]);
    });

    it('counts the window from the receive time when the timestamp is at most 5 minutes ahead', () => {
      const body = webhookBody([
        { messaging: [optinItem({ loginId: 'L', timestamp: RECEIVED + 5 * 60_000 })] },
      ]);

      expect(extractJobs(body, RECEIVED)).toMatchObject([{ kind: 'optin', optinAt: RECEIVED }]);
    });

    it('takes login_id byte for byte: no trimming, no normalisation', () => {
      const loginId = 'ÄbC-1_x.y~Z\u00e9';
      const body = webhookBody([{ messaging: [optinItem({ loginId, timestamp: RECEIVED })] }]);

      expect(extractJobs(body, RECEIVED)).toMatchObject([{ kind: 'optin', loginId }]);
    });

    it('keeps other events as typed event jobs carrying the item as received', () => {
      const message = {
        sender: { id: 'PSID1' },
        recipient: { id: PAGE_ID },
        timestamp: RECEIVED,
        message: { mid: 'm1', text: 'hi' },
      };
      const echo = {
        sender: { id: PAGE_ID },
        recipient: { id: 'PSID1' },
        timestamp: RECEIVED,
        message: { mid: 'm2', is_echo: true },
      };
      const delivery = {
        sender: { id: 'PSID1' },
        recipient: { id: PAGE_ID },
        delivery: { watermark: RECEIVED },
      };
      const checkbox = {
        recipient: { id: PAGE_ID },
        timestamp: RECEIVED,
        optin: { ref: 'r', user_ref: 'u' },
      };
      const odd = { recipient: { id: PAGE_ID }, something_new: {} };
      const body = webhookBody([{ messaging: [message, echo, delivery, checkbox, odd] }]);

      const jobs = extractJobs(body, RECEIVED) as EventJob[];

      expect(jobs.map((j) => [j.kind, j.eventType, j.psid])).toEqual([
        ['event', 'message', 'PSID1'],
        ['event', 'message_echo', 'PSID1'],
        ['event', 'delivery', 'PSID1'],
        ['event', 'optin', undefined],
        ['event', 'unknown', undefined],
      ]);
      expect(jobs[0]?.payload).toEqual(message);
      expect(jobs[1]?.pageId).toBe(PAGE_ID);
    });

    it('keeps feed changes and bodies of unknown shape instead of refusing them', () => {
      const feed = {
        object: 'page',
        entry: [{ id: PAGE_ID, time: RECEIVED, changes: [{ field: 'feed', value: {} }] }],
      };

      expect(extractJobs(feed, RECEIVED)).toMatchObject([
        { kind: 'event', eventType: 'change:feed', channel: 'changes' },
      ]);
      expect(extractJobs({ object: 'instagram' }, RECEIVED)).toMatchObject([
        { kind: 'event', eventType: 'unknown', channel: 'other' },
      ]);
      expect(extractJobs({ entry: [7, { id: PAGE_ID }] }, RECEIVED)).toHaveLength(2);
    });
  });

  describe('extractJobs() with an opt-in that breaks the contract', () => {
    const rejectedFor = (item: Record<string, unknown>, entry: Record<string, unknown> = {}) => {
      const body = { object: 'page', entry: [{ id: PAGE_ID, ...entry, messaging: [item] }] };
      const jobs = extractJobs(body, RECEIVED);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]?.kind).toBe('rejected_optin');
      return jobs[0] as RejectedOptinJob;
    };
    const item = (overrides: { loginId?: unknown; pageId?: unknown; timestamp?: unknown }) => ({
      recipient: { id: 'pageId' in overrides ? overrides.pageId : PAGE_ID },
      timestamp: 'timestamp' in overrides ? overrides.timestamp : RECEIVED,
      optin: { login_id: 'loginId' in overrides ? overrides.loginId : 'L1' },
    });

    it.each([
      ['0', 0, 'timestamp: is older than the 24 h window'],
      ['-1', -1, 'timestamp: is older than the 24 h window'],
      ['seconds', Math.floor(RECEIVED / 1000), 'timestamp: is older than the 24 h window'],
      ['25 h old', RECEIVED - 25 * HOUR_MS, 'timestamp: is older than the 24 h window'],
      ['3 h ahead', RECEIVED + 3 * HOUR_MS, 'timestamp: is more than 5 minutes in the future'],
      ['true', true, 'timestamp: must be a number'],
      ['a string of digits', String(RECEIVED), 'timestamp: must be a number'],
      ['null', null, 'timestamp: must be a number'],
      ['a fraction', RECEIVED + 0.5, 'timestamp: must be an integer'],
      ['1e400 (Infinity)', Number.POSITIVE_INFINITY, 'timestamp: must be a number'],
      ['1e300', 1e300, 'timestamp: '],
    ])(
      'rejects a timestamp of %s instead of using the receive time',
      (_name, timestamp, reason) => {
        const job = rejectedFor(item({ timestamp }));

        expect(job.reason).toContain(reason);
        expect(job).toMatchObject({ loginId: 'L1', pageId: PAGE_ID, receivedAt: RECEIVED });
      },
    );

    it('judges each delivery at its own receive time, one after another', () => {
      const body = webhookBody([{ messaging: [item({ timestamp: RECEIVED })] }]);
      const kinds = [RECEIVED, RECEIVED + 25 * HOUR_MS, RECEIVED, RECEIVED - HOUR_MS].map(
        (receivedAt) => extractJobs(body, receivedAt)[0]?.kind,
      );

      expect(kinds).toEqual(['optin', 'rejected_optin', 'optin', 'rejected_optin']);
    });

    it('does not fall back on entry.time when the timestamp is there but invalid', () => {
      const job = rejectedFor(item({ timestamp: 'now' }), { time: RECEIVED });

      expect(job.reason).toBe('timestamp: must be a number of epoch milliseconds');
    });

    it('rejects an opt-in with neither timestamp nor entry.time', () => {
      const job = rejectedFor(item({ timestamp: undefined }));

      expect(job.reason).toBe('timestamp: missing (no timestamp and no entry.time)');
    });

    it('judges entry.time by the same rules when it stands in for the timestamp', () => {
      const job = rejectedFor(item({ timestamp: undefined }), { time: 1_234_567_890 });

      expect(job.reason).toContain('entry.time: is older than the 24 h window');
    });

    it.each([
      ['1e21', 1e21, 'must be a string'],
      ['2^53 + 2', 2 ** 53 + 2, 'must be a string'],
      ['a padded string', ' L1 ', 'must not contain whitespace'],
      ['an empty string', '', 'must not be empty'],
      ['a lone surrogate', 'L\ud800', 'must be well-formed Unicode'],
      ['an object', { id: 'L1' }, 'must be a string'],
      ['null', null, 'must be a string'],
    ])(
      'rejects a login_id that is %s instead of turning it into another id',
      (_n, loginId, why) => {
        const job = rejectedFor(item({ loginId }));

        expect(job.reason).toContain(`optin.login_id: ${why}`);
      },
    );

    it.each([
      ['a number', 1111111111],
      ['not digits', 'page-1'],
      ['padded', ` ${PAGE_ID}`],
    ])('rejects a Page id that is %s', (_name, pageId) => {
      expect(rejectedFor(item({ pageId })).reason).toContain('recipient.id: must be a string');
    });

    it('keeps a megabyte login_id as its first 256 characters, its length and its hash', () => {
      const loginId = 'x'.repeat(1_000_000);

      const job = rejectedFor(item({ loginId }));

      expect(job.loginId).toBe('x'.repeat(256));
      expect(job.loginIdLength).toBe(1_000_000);
      expect(job.loginIdSha256).toBe(createHash('sha256').update(loginId).digest('hex'));
      expect(job.item.bytes).toBeGreaterThan(1_000_000);
      expect(job.item.excerpt.length).toBeLessThanOrEqual(2_000);
      expect(RejectedOptinJobSchema.safeParse(job).success).toBe(true);
    });

    it('names every rule broken, and keeps no login_id that is not a string', () => {
      const job = rejectedFor(item({ loginId: 7, pageId: 7, timestamp: 0 }));

      expect(job.reason).toBe(
        'optin.login_id: must be a string; recipient.id: must be a string; timestamp: is older than the 24 h window (or is not in milliseconds)',
      );
      expect(job.loginId).toBeUndefined();
      expect(job.loginIdSha256).toBeUndefined();
      expect(job.pageId).toBeUndefined();
    });
  });

  describe('extractJobs() with pathological shapes', () => {
    const deep = (depth: number, leaf: unknown = 1) => {
      let value: unknown = leaf;
      for (let i = 0; i < depth; i += 1) value = [value];
      return value;
    };

    it.each([
      [
        'messaging 10,000 deep',
        { object: 'page', entry: [{ id: PAGE_ID, messaging: deep(10_000) }] },
      ],
      ['an unknown body 10,000 deep', { object: 'page', nested: deep(10_000) }],
      [
        'a login_id 10,000 deep',
        webhookBody([
          { messaging: [{ ...optinItem({ loginId: 'x' }), optin: { login_id: deep(10_000) } }] },
        ]),
      ],
      [
        'an event with a number DynamoDB cannot store',
        webhookBody([
          { messaging: [{ sender: { id: 'P' }, recipient: { id: PAGE_ID }, odd: 1e21 }] },
        ]),
      ],
      [
        'an unknown event of a megabyte',
        webhookBody([{ messaging: [{ recipient: { id: PAGE_ID }, blob: 'x'.repeat(1_000_000) }] }]),
      ],
    ])('turns %s into jobs that serialise and fit a queue message', (_name, body) => {
      const jobs = extractJobs(body as Record<string, unknown>, RECEIVED);

      for (const job of jobs) {
        const serialised = serializeJob(job);
        expect(Buffer.byteLength(serialised)).toBeLessThan(100_000);
        expect(QueueJobSchema.safeParse(JSON.parse(serialised)).success).toBe(true);
      }
      expect(jobs.length).toBeGreaterThan(0);
    });

    it('keeps a too-deep event as its hash, size and start', () => {
      const body = { object: 'page', entry: [{ id: PAGE_ID, messaging: [{ a: deep(50) }] }] };

      const [job] = extractJobs(body, RECEIVED) as EventJob[];

      expect(job?.payload).toMatchObject({
        truncated: true,
        reason: 'too_deep',
        sha256: createHash('sha256')
          .update(JSON.stringify({ a: deep(50) }))
          .digest('hex'),
        bytes: JSON.stringify({ a: deep(50) }).length,
      });
    });

    it('makes at most 1,000 jobs of a huge batch, then one summary of what was left out', () => {
      const messaging = Array.from({ length: 5_000 }, (_, i) =>
        i % 2 === 0 ? optinItem({ loginId: `L${i}`, timestamp: RECEIVED }) : {},
      );

      const jobs = extractJobs({ object: 'page', entry: [{ id: PAGE_ID, messaging }] }, RECEIVED);

      expect(jobs).toHaveLength(1_001);
      expect(jobs[1_000]).toMatchObject({
        kind: 'event',
        eventType: 'overflow',
        payload: {
          reason: 'too_many_events',
          kept: 1_000,
          droppedOptins: 2_000,
          droppedEvents: 2_000,
        },
      });
    });

    it('keeps any number of values that are not objects as one bounded event per run', () => {
      const messaging = [...Array.from({ length: 50_000 }, (_, i) => i), null, 'x', [[]]];

      const jobs = extractJobs(
        { object: 'page', entry: [{ id: PAGE_ID, messaging }, 7, 'y'] },
        RECEIVED,
      ) as EventJob[];

      expect(jobs.map((j) => [j.eventType, j.channel])).toEqual([
        ['unknown', 'messaging'],
        ['unknown', 'other'],
      ]);
      expect(jobs[0]?.payload).toMatchObject({ truncated: true, reason: 'too_large' });
      expect(jobs[1]?.payload).toEqual([7, 'y']);
    });

    it('keeps __proto__ and constructor keys as data and reads nothing through them', () => {
      const raw = `{"object":"page","entry":[{"id":"${PAGE_ID}","__proto__":{"messaging":[1]},"messaging":[{"recipient":{"id":"${PAGE_ID}","__proto__":{"id":"9"}},"timestamp":${RECEIVED},"constructor":{"prototype":{"x":1}},"optin":{"__proto__":{"login_id":"evil"},"login_id":"L1"}}]}]}`;

      const jobs = extractJobs(JSON.parse(raw), RECEIVED);

      expect(jobs).toMatchObject([{ kind: 'optin', loginId: 'L1', pageId: PAGE_ID }]);
      expect(({} as Record<string, unknown>).login_id).toBeUndefined();
    });
  });
});
