import { listedOptin, renderList } from '../../../infra/cli/commands/list';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('cli/commands/list', () => {
  describe('listedOptin()', () => {
    it('reads a rejected opt-in: its receive time, reason, item hash and size', () => {
      const row = listedOptin(
        {
          type: 'rejected_optin',
          status: 'rejected',
          statusReason: 'optin.login_id: must be a string',
          receivedAt: iso(NOW - 60_000),
          itemSha256: 'e'.repeat(64),
          itemBytes: 99,
        },
        NOW,
      );

      expect(row).toEqual({
        loginId: '',
        status: 'rejected',
        statusReason: 'optin.login_id: must be a string',
        windowOpen: false,
        attempts: 0,
        receivedAt: iso(NOW - 60_000),
        itemSha256: 'e'.repeat(64),
        itemBytes: 99,
      });
    });

    it('adds nothing to an ordinary opt-in', () => {
      const row = listedOptin({ loginId: 'L', status: 'sent', receivedAt: iso(NOW) }, NOW);

      expect(row).toEqual({ loginId: 'L', status: 'sent', windowOpen: false, attempts: 0 });
    });
  });

  describe('renderList()', () => {
    it('shows a rejected opt-in without a login_id, with the start of its reason', () => {
      const reason = `timestamp: is older than the 24 h window (or is not in milliseconds); recipient.id: must be a string`;
      const text = renderList(
        {
          since: iso(NOW - 86_400_000),
          until: iso(NOW),
          limit: 50,
          count: 1,
          more: false,
          optins: [
            {
              loginId: '',
              status: 'rejected',
              statusReason: reason,
              windowOpen: false,
              attempts: 0,
              receivedAt: iso(NOW - 120_000),
            },
          ],
        },
        NOW,
      );

      expect(text).toMatch(
        /^2 min ago +\(none\) +rejected +timestamp: is older than the 24 h window \(or is not in mill…/m,
      );
      expect(text).not.toContain('recipient.id');
    });
  });
});
