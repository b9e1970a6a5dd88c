import { sameSecret, verifySubscription } from '../../../shared/webhook/handshake';

describe('webhook/handshake', () => {
  describe('verifySubscription()', () => {
    it('returns the challenge when the verify token matches', () => {
      const result = verifySubscription(
        { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1158201444' },
        'tok',
      );

      expect(result).toEqual({ ok: true, challenge: '1158201444' });
    });

    it('answers 403 when the verify token is wrong', () => {
      const result = verifySubscription(
        { 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': 'c' },
        'tok',
      );

      expect(result).toMatchObject({ ok: false, statusCode: 403 });
    });

    it('answers 403 when the token is missing', () => {
      expect(
        verifySubscription({ 'hub.mode': 'subscribe', 'hub.challenge': 'c' }, 'tok'),
      ).toMatchObject({ statusCode: 403 });
    });

    it('answers 403 when no verify token is configured, whatever is sent', () => {
      expect(
        verifySubscription(
          { 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': 'c' },
          '',
        ),
      ).toMatchObject({
        statusCode: 403,
      });
    });

    it.each([
      [
        'another mode',
        { 'hub.mode': 'unsubscribe', 'hub.verify_token': 'tok', 'hub.challenge': 'c' },
      ],
      ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok' }],
      ['no query at all', undefined],
    ])('answers 400 for %s', (_name, query) => {
      expect(verifySubscription(query, 'tok')).toMatchObject({ ok: false, statusCode: 400 });
    });
  });

  describe('sameSecret()', () => {
    it('compares strings of different lengths without throwing', () => {
      expect(sameSecret('a', 'a')).toBe(true);
      expect(sameSecret('a', 'ab')).toBe(false);
      expect(sameSecret('', 'x')).toBe(false);
    });
  });
});
