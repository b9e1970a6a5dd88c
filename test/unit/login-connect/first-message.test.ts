import { parseFirstMessages, templateFor } from '../../../shared/login-connect/first-message';

const valid = {
  default: {
    message: {
      text: 'Hello! Thanks for signing up.',
      quick_replies: [{ content_type: 'text', title: 'Outfit ideas', payload: 'CURATION' }],
    },
  },
};

/** The error message a config produces, or '' when it is valid. */
function errorOf(config: unknown): string {
  try {
    parseFirstMessages(config);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

const withMessage = (message: unknown, extra: Record<string, unknown> = {}) => ({
  default: { message, ...extra },
});
const quickReplies = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ content_type: 'text', title: `Q${i}`, payload: `P${i}` }));
const element = (i: number, buttons = 1) => ({
  title: `Item ${i}`,
  subtitle: 'sub',
  buttons: Array.from({ length: buttons }, (_, b) => ({
    type: 'postback',
    title: `B${b}`,
    payload: `P${b}`,
  })),
});

describe('login-connect/first-message', () => {
  describe('parseFirstMessages()', () => {
    it('accepts the docs example and defaults messaging_type to UPDATE', () => {
      const parsed = parseFirstMessages(valid);

      expect(parsed.default.messagingType).toBe('UPDATE');
      expect(parsed.pages).toEqual({});
    });

    it('accepts text of exactly 2000 characters, counting an emoji as one', () => {
      expect(errorOf(withMessage({ text: `${'a'.repeat(1999)}😀` }))).toBe('');
    });

    it.each<[string, unknown, string]>([
      [
        'text over 2000 characters',
        withMessage({ text: 'a'.repeat(2001) }),
        'firstMessages.default.message.text: must be at most 2000 characters',
      ],
      [
        '14 quick replies',
        withMessage({ text: 'hi', quick_replies: quickReplies(14) }),
        'firstMessages.default.message.quick_replies: must have at most 13 quick replies',
      ],
      [
        'a quick reply title of 21 characters',
        withMessage({
          text: 'hi',
          quick_replies: [{ content_type: 'text', title: 'x'.repeat(21), payload: 'P' }],
        }),
        'firstMessages.default.message.quick_replies[0].title: must be at most 20 characters',
      ],
      [
        'a quick reply payload of 1001 characters',
        withMessage({
          text: 'hi',
          quick_replies: [{ content_type: 'text', title: 'T', payload: 'p'.repeat(1001) }],
        }),
        'firstMessages.default.message.quick_replies[0].payload: must be at most 1000 characters',
      ],
      [
        'a text quick reply without payload',
        withMessage({ text: 'hi', quick_replies: [{ content_type: 'text', title: 'T' }] }),
        'quick_replies[0].payload: is required for a text quick reply',
      ],
      [
        'a generic template with 11 elements',
        withMessage({
          attachment: {
            type: 'template',
            payload: {
              template_type: 'generic',
              elements: Array.from({ length: 11 }, (_, i) => element(i)),
            },
          },
        }),
        'firstMessages.default.message.attachment.payload.elements: must have at most 10 elements',
      ],
      [
        'a generic element with 4 buttons',
        withMessage({
          attachment: {
            type: 'template',
            payload: { template_type: 'generic', elements: [element(0, 4)] },
          },
        }),
        'firstMessages.default.message.attachment.payload.elements[0].buttons: must have at most 3 buttons',
      ],
      [
        'a button template with 4 buttons',
        withMessage({
          attachment: {
            type: 'template',
            payload: { template_type: 'button', text: 'Pick', buttons: element(0, 4).buttons },
          },
        }),
        'attachment.payload.buttons: must have at most 3 buttons',
      ],
      [
        'both text and attachment',
        withMessage({
          text: 'a',
          attachment: { type: 'image', payload: { url: 'https://x.test/a.png' } },
        }),
        'firstMessages.default.message: needs exactly one of text or attachment',
      ],
      ['neither text nor attachment', withMessage({}), 'needs exactly one of text or attachment'],
      [
        'messagingType MESSAGE_TAG',
        withMessage({ text: 'a' }, { messagingType: 'MESSAGE_TAG' }),
        'firstMessages.default.messagingType: MESSAGE_TAG is not allowed',
      ],
      [
        'a tag',
        withMessage({ text: 'a' }, { tag: 'ACCOUNT_UPDATE' }),
        'firstMessages.default.tag: is not allowed',
      ],
      [
        'an unknown messagingType',
        withMessage({ text: 'a' }, { messagingType: 'PROMO' }),
        'firstMessages.default.messagingType: must be UPDATE or RESPONSE',
      ],
      [
        'an unknown message field',
        withMessage({ text: 'a', colour: 'red' }),
        'firstMessages.default.message',
      ],
      [
        'a non-numeric Page id',
        { ...valid, pages: { mypage: valid.default } },
        'firstMessages.pages.mypage',
      ],
      ['no default', { pages: {} }, 'firstMessages.default'],
    ])('refuses %s, naming the field', (_name, config, expected) => {
      expect(errorOf(config)).toContain(expected);
    });

    it('names every bad field at once', () => {
      const message = errorOf({
        default: { message: { text: 'a'.repeat(2001) } },
        pages: { '123': { message: { text: 'ok' }, messagingType: 'MESSAGE_TAG' } },
      });

      expect(message).toContain('firstMessages.default.message.text');
      expect(message).toContain('firstMessages.pages.123.messagingType');
    });
  });

  describe('templateFor()', () => {
    it('uses the Page override when there is one, else the default', () => {
      const parsed = parseFirstMessages({
        ...valid,
        pages: { '123': { message: { text: 'Page 123 says hi' } } },
      });

      expect(templateFor(parsed, '123').message.text).toBe('Page 123 says hi');
      expect(templateFor(parsed, '456').message.text).toBe(valid.default.message.text);
    });
  });
});
