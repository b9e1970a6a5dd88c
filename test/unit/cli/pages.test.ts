import { pageView, renderPages } from '../../../infra/cli/commands/pages';
import type { PageState } from '../../../shared/login-connect/page-state';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const MIN = 60_000;

const restricted: PageState = {
  pageId: '1111111111',
  pausedReason: 'page_restricted',
  pausedSince: NOW - 30 * MIN,
  pausedUntil: NOW + 4 * MIN,
  pauseCount: 3,
  tokenHash: 'abcdef0123456789',
  probeOwner: 'x',
  probeUntil: NOW - MIN,
  lastError: {
    code: 10,
    subcode: 1893063,
    httpStatus: 400,
    message: '(#10) This Page is temporarily restricted from sending messages.',
    at: NOW - 2 * MIN,
  },
  lastOptinAt: NOW - 3 * MIN,
  lastSendAt: NOW - 40 * MIN,
  subscription: { checkedAt: NOW - 5 * MIN, status: 'ok', fields: ['messaging_optins'] },
  watchedAt: NOW - 5 * MIN,
};
const healthy: PageState = {
  pageId: '2222222222',
  resumedAt: NOW - 60 * MIN,
  lastPausedReason: 'rate_limited',
  lastOptinAt: NOW - MIN,
  lastSendAt: NOW - MIN,
  subscription: {
    checkedAt: NOW - 5 * MIN,
    status: 'missing',
    fields: [],
    missingFields: ['messaging_optins', 'messages'],
    error: { code: 200, httpStatus: 403, message: '(#200) Permissions error' },
  },
};

describe('cli/commands/pages', () => {
  describe('pageView()', () => {
    it('shows a paused Page with ISO times, its next probe and last error, never its token fingerprint or probe owner', () => {
      const view = pageView(restricted, NOW, true);

      expect(view).toEqual({
        pageId: '1111111111',
        configured: true,
        state: 'paused',
        pausedReason: 'page_restricted',
        pausedSince: '2026-11-21T11:30:00.000Z',
        nextProbeAt: '2026-11-21T12:04:00.000Z',
        pauseCount: 3,
        lastError: {
          code: 10,
          subcode: 1893063,
          httpStatus: 400,
          message: '(#10) This Page is temporarily restricted from sending messages.',
          at: '2026-11-21T11:58:00.000Z',
        },
        lastOptinAt: '2026-11-21T11:57:00.000Z',
        lastSendAt: '2026-11-21T11:20:00.000Z',
        subscription: {
          checkedAt: '2026-11-21T11:55:00.000Z',
          status: 'ok',
          fields: ['messaging_optins'],
        },
        watchedAt: '2026-11-21T11:55:00.000Z',
      });
      expect(JSON.stringify(view)).not.toContain('abcdef');
    });

    it('says a probe is going while it holds the right', () => {
      expect(pageView({ ...restricted, probeUntil: NOW + MIN }, NOW, true).probing).toBe(true);
    });

    it('shows a Page that sends, and one the secret does not know, or with no state yet', () => {
      expect(pageView(healthy, NOW, false)).toMatchObject({
        state: 'sending',
        configured: false,
        lastPausedReason: 'rate_limited',
        resumedAt: '2026-11-21T11:00:00.000Z',
      });
      expect(pageView({ pageId: '3' }, NOW, undefined)).toEqual({ pageId: '3', state: 'sending' });
    });
  });

  describe('renderPages()', () => {
    it('lists each Page, then what to do about the paused and unsubscribed ones', () => {
      const text = renderPages(
        { pages: [pageView(restricted, NOW, true), pageView(healthy, NOW, false)] },
        NOW,
      );

      expect(text).toBe(
        [
          'Page                        state    reason           since       next probe  last opt-in  last send   subscription                       checked',
          '1111111111                  paused   page_restricted  30 min ago  in 4 min    3 min ago    40 min ago  ok                                 5 min ago',
          '2222222222 (not in secret)  sending                                           1 min ago    1 min ago   MISSING messaging_optins,messages  5 min ago',
          '',
          'Page 1111111111 is paused (page_restricted, pause 3 in a row): its opt-ins wait, pending, while their windows are open.',
          '  last error  10/1893063 (#10) This Page is temporarily restricted from sending messages.',
          '  do          Meta restricted the Page from sending (10/1893063): see the Page Quality tab in Meta Business Suite; a probe retries after each back-off.',
          '',
          "Page 2222222222: the app is not subscribed to messaging_optins, messages and the watchdog could not subscribe it ((#200) Permissions error): subscribe the app in the Page's settings, or give the token pages_manage_metadata.",
          '',
        ].join('\n'),
      );
    });

    it('says a probe is due, and tells a token pause what to do', () => {
      const text = renderPages(
        {
          pages: [
            pageView(
              {
                ...restricted,
                pausedReason: 'token_invalid',
                pausedUntil: NOW - 1,
                lastError: undefined,
              },
              NOW,
              true,
            ),
          ],
          note: 'the secret could not be read',
        },
        NOW,
      );

      expect(text).toContain('token_invalid  30 min ago  due');
      expect(text).toContain('put a new Page token under pages.<PAGE_ID>.accessToken');
      expect(text).not.toContain('last error');
      expect(text.trimEnd().endsWith('(the secret could not be read)')).toBe(true);
    });

    it('says so when there is no Page to show', () => {
      expect(renderPages({ pages: [] }, NOW)).toMatch(/^No Pages: the watchdog has not run yet/);
    });
  });
});
