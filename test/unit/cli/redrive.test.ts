import { describeMessage, renderRedrive } from '../../../infra/cli/commands/redrive';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

describe('cli/commands/redrive', () => {
  describe('describeMessage()', () => {
    it('reads the kind and identifiers of each job, and never its payload', () => {
      const optin = describeMessage({
        MessageId: 'a',
        Body: JSON.stringify({ v: 1, kind: 'optin', loginId: 'L', pageId: '111' }),
        Attributes: { SentTimestamp: String(NOW - 60_000), ApproximateReceiveCount: '3' },
      });
      const event = describeMessage({
        MessageId: 'b',
        Body: JSON.stringify({
          v: 1,
          kind: 'event',
          eventType: 'message',
          payload: { text: 'hi' },
        }),
      });
      const followup = describeMessage({
        MessageId: 'c',
        Body: JSON.stringify({ v: 1, kind: 'followup', id: 'msg_1' }),
      });

      expect(optin).toEqual({
        messageId: 'a',
        kind: 'optin',
        loginId: 'L',
        pageId: '111',
        enqueuedAt: new Date(NOW - 60_000).toISOString(),
        receiveCount: 3,
      });
      expect(event).toEqual({ messageId: 'b', kind: 'event', eventType: 'message' });
      expect(followup).toEqual({ messageId: 'c', kind: 'followup', followupId: 'msg_1' });
    });

    it('tells a rejected opt-in from an opt-in to send', () => {
      const rejected = describeMessage({
        MessageId: 'r',
        Body: JSON.stringify({ v: 1, kind: 'rejected_optin', reason: 'x', loginId: 'L' }),
      });

      expect(rejected).toEqual({ messageId: 'r', kind: 'rejected_optin', loginId: 'L' });
    });

    it('calls a body that is not a job unreadable', () => {
      expect(describeMessage({ MessageId: 'd', Body: 'not json' }).kind).toBe('unreadable');
      expect(describeMessage({ MessageId: 'e', Body: '"text"' }).kind).toBe('unreadable');
      expect(describeMessage({ MessageId: 'f', Body: '{"kind":"other"}' }).kind).toBe('unreadable');
    });
  });

  describe('renderRedrive()', () => {
    it('shows a dry run by kind and one by one, and says nothing moved', () => {
      const text = renderRedrive(
        {
          dryRun: true,
          deadLetterQueueUrl: 'dlq',
          queueUrl: 'q',
          approximateCount: 2,
          count: 2,
          failed: 0,
          skipped: 0,
          kinds: { optin: 1, event: 0, followup: 1, unreadable: 0, rejected_optin: 0 },
          messages: [
            { messageId: 'a', kind: 'optin', loginId: 'L', pageId: '111' },
            { messageId: 'c', kind: 'followup', followupId: 'msg_1' },
          ],
          failures: [],
        },
        NOW,
      );

      expect(text).toContain('Dry run: would move 2 messages; nothing was moved.');
      expect(text).toContain('kind       count\nopt-in         1\nfollow-up      1');
      expect(text).toMatch(/a +opt-in +login_id L, Page 111/);
    });
  });
});
