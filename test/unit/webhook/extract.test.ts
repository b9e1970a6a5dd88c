import type { EventJob, OptinJob } from '../../../shared/messages';
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

    it('reads a timestamp given in seconds, as in the docs example', () => {
      const body = webhookBody([
        {
          messaging: [
            { recipient: { id: PAGE_ID }, timestamp: 1_234_567_890, optin: { login_id: '12345' } },
          ],
        },
      ]);

      const [job] = extractJobs(body, RECEIVED) as OptinJob[];

      expect(job?.optinAt).toBe(1_234_567_890_000);
    });

    it('never lets a future timestamp stretch the window past the receive time', () => {
      const body = webhookBody([
        { messaging: [optinItem({ loginId: 'L', timestamp: RECEIVED + 3 * HOUR_MS })] },
      ]);

      const [job] = extractJobs(body, RECEIVED) as OptinJob[];

      expect(job?.optinAt).toBe(RECEIVED);
    });

    it('falls back to entry.time, then to the receive time, when the event has no timestamp', () => {
      const body = {
        object: 'page',
        entry: [
          {
            id: PAGE_ID,
            time: RECEIVED - 1000,
            messaging: [{ recipient: { id: PAGE_ID }, optin: { login_id: 'A' } }],
          },
          { id: PAGE_ID, messaging: [{ recipient: { id: PAGE_ID }, optin: { login_id: 'B' } }] },
        ],
      };

      const jobs = extractJobs(body, RECEIVED) as OptinJob[];

      expect(jobs.map((j) => j.optinAt)).toEqual([RECEIVED - 1000, RECEIVED]);
    });

    it('uses entry.id as the Page when the recipient is missing, and accepts numeric ids', () => {
      const body = {
        object: 'page',
        entry: [{ id: 42, messaging: [{ timestamp: RECEIVED, optin: { login_id: 99 } }] }],
      };

      expect(extractJobs(body, RECEIVED)).toMatchObject([
        { kind: 'optin', pageId: '42', loginId: '99' },
      ]);
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
});
