import {
  handleEvent,
  notificationStatus,
  priorLoginId,
} from '../../../shared/login-connect/handle-event';
import type { EventJob } from '../../../shared/messages';
import type { PersonStore } from '../../../shared/store/person-store';

const NOW = 1_795_000_000_000;
function fakePeople(): jest.Mocked<PersonStore> {
  return {
    identity: jest.fn(),
    suppress: jest.fn().mockResolvedValue([{ kind: 'psid', id: 'P' }]),
    lift: jest.fn().mockResolvedValue([]),
    suppressionOf: jest.fn(),
    link: jest.fn(),
    recordUserMessage: jest.fn().mockResolvedValue(undefined),
    applyReceipt: jest.fn().mockResolvedValue(2),
    recipientState: jest.fn(),
    erase: jest.fn(),
    bury: jest.fn(),
    deletedAt: jest.fn(),
    recordDeletion: jest.fn(),
    deletion: jest.fn(),
    addToDeletion: jest.fn(),
  };
}
const event = (eventType: string, payload: unknown, extra: Partial<EventJob> = {}): EventJob => ({
  v: 1,
  kind: 'event',
  eventType,
  channel: 'messaging',
  pageId: '111',
  psid: 'P',
  timestamp: NOW - 1000,
  receivedAt: NOW,
  payload,
  ...extra,
});

describe('login-connect/handle-event', () => {
  describe('notificationStatus()', () => {
    it.each([
      ['STOP_NOTIFICATIONS', 'stop'],
      ['STOP NOTIFICATIONS', 'stop'],
      ['stop notifications', 'stop'],
      ['RESUME_NOTIFICATIONS', 'resume'],
      ['RESUME NOTIFICATIONS', 'resume'],
      ['SOMETHING_ELSE', undefined],
      [undefined, undefined],
    ])('reads %p as %p', (raw, expected) => {
      expect(notificationStatus(raw)).toBe(expected);
    });
  });

  describe('priorLoginId()', () => {
    it('reads prior_message from fb_login, where the docs put it or inside the message', () => {
      expect(priorLoginId({ prior_message: { source: 'fb_login', identifier: 'L1' } })).toBe('L1');
      expect(
        priorLoginId({ message: { prior_message: { source: 'fb_login', identifier: 'L2' } } }),
      ).toBe('L2');
      expect(
        priorLoginId({ prior_message: { source: 'checkbox_plugin', identifier: 'U' } }),
      ).toBeUndefined();
    });

    it.each([
      ['a number', 1e21],
      ['a padded string', ' L1 '],
      ['an empty string', ''],
    ])('ignores an identifier that is %s instead of reading it as another login_id', (_n, id) => {
      expect(
        priorLoginId({ prior_message: { source: 'fb_login', identifier: id } }),
      ).toBeUndefined();
    });
  });

  describe('handleEvent()', () => {
    it('records a user message with its own time, linking when it replies to a login_id message', async () => {
      const people = fakePeople();

      const outcome = await handleEvent(
        event('message', {
          message: { mid: 'm', text: 'hi' },
          prior_message: { source: 'fb_login', identifier: 'L' },
        }),
        people,
        NOW,
      );

      expect(outcome).toEqual({ outcome: 'user_message', linked: true });
      expect(people.recordUserMessage).toHaveBeenCalledWith(
        { psid: 'P', pageId: '111', atMs: NOW - 1000, priorLoginId: 'L' },
        NOW,
      );
    });

    it('applies a delivery by mids and watermark, and a read by watermark', async () => {
      const people = fakePeople();

      await handleEvent(
        event('delivery', { delivery: { mids: ['m1', 'm2'], watermark: NOW - 5 } }),
        people,
        NOW,
      );
      await handleEvent(event('read', { read: { watermark: NOW - 2 } }), people, NOW);

      expect(people.applyReceipt).toHaveBeenNthCalledWith(1, {
        psid: 'P',
        kind: 'delivered',
        watermarkMs: NOW - 5,
        mids: ['m1', 'm2'],
      });
      expect(people.applyReceipt).toHaveBeenNthCalledWith(2, {
        psid: 'P',
        kind: 'read',
        watermarkMs: NOW - 2,
      });
    });

    it('suppresses on STOP and lifts only STOP on RESUME', async () => {
      const people = fakePeople();

      await handleEvent(
        event('optin', {
          optin: {
            type: 'notification_messages',
            notification_messages_status: 'STOP NOTIFICATIONS',
          },
        }),
        people,
        NOW,
      );
      await handleEvent(
        event('optin', { optin: { notification_messages_status: 'RESUME_NOTIFICATIONS' } }),
        people,
        NOW,
      );

      expect(people.suppress).toHaveBeenCalledWith(
        { kind: 'psid', id: 'P' },
        { source: 'stop', reason: 'stop_notifications' },
        NOW,
      );
      expect(people.lift).toHaveBeenCalledWith({ kind: 'psid', id: 'P' }, 'stop', NOW);
    });

    it('leaves other opt-ins, reactions and unknown events unhandled, and ignores echoes', async () => {
      const people = fakePeople();

      expect(
        await handleEvent(event('optin', { optin: { ref: 'r', user_ref: 'u' } }), people, NOW),
      ).toEqual({ outcome: 'unhandled' });
      expect(await handleEvent(event('reaction', {}), people, NOW)).toEqual({
        outcome: 'unhandled',
      });
      expect(await handleEvent(event('message_echo', {}), people, NOW)).toMatchObject({
        outcome: 'ignored',
      });
      expect(people.recordUserMessage).not.toHaveBeenCalled();
    });
  });
});
