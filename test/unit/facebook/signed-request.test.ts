import { parseSignedRequest, signRequest } from '../../../shared/facebook/signed-request';
import { loginIdFor } from '../../../shared/login-connect/login-id';

/** Made with Python's hmac/base64, independently of our code, the way Facebook's PHP sample does. */
const PYTHON_SIGNED =
  's_mPKvDV5mokZZGwpIMOX-eEcfxrmHy6bTwztMNsYH4.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsImlzc3VlZF9hdCI6MTc5NTAwMDAwMCwidXNlcl9pZCI6IjQyNDIifQ';

/** PYTHON_SIGNED's issued_at (epoch seconds), plus a minute. */
const ISSUED_MS = 1_795_000_000_000;
const NOW = ISSUED_MS + 60_000;
const nowS = Math.floor(NOW / 1000);

describe('facebook/signed-request', () => {
  describe('parseSignedRequest()', () => {
    it('verifies a request signed elsewhere and reads the user id', () => {
      expect(parseSignedRequest(PYTHON_SIGNED, 'app-secret-xyz', NOW)).toMatchObject({
        ok: true,
        userId: '4242',
        payload: { issued_at: 1_795_000_000 },
      });
    });

    it('verifies over the payload as received, not a re-encoding of it', () => {
      const signed = signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS, user_id: 77 }, 's');

      expect(parseSignedRequest(signed, 's', NOW)).toMatchObject({ ok: true, userId: '77' });
    });

    it.each([
      ['another secret', PYTHON_SIGNED, 'wrong-secret', 'signature does not match'],
      [
        'a changed payload',
        `${PYTHON_SIGNED.split('.')[0]}.${Buffer.from('{"user_id":"1"}').toString('base64url')}`,
        'app-secret-xyz',
        'signature does not match',
      ],
      ['no dot', 'abc', 'app-secret-xyz', 'not <signature>.<payload>'],
      [
        'another algorithm',
        signRequest({ algorithm: 'HMAC-SHA1', issued_at: nowS, user_id: '1' }, 'k'),
        'k',
        'unexpected algorithm HMAC-SHA1',
      ],
      ['no algorithm', signRequest({ issued_at: nowS, user_id: '1' }, 'k'), 'k', 'no algorithm'],
      [
        'no issued_at',
        signRequest({ algorithm: 'HMAC-SHA256', user_id: '1' }, 'k'),
        'k',
        'no issued_at',
      ],
      [
        'a request issued 61 minutes ago (a replay)',
        signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS - 3_660, user_id: '1' }, 'k'),
        'k',
        'issued_at is more than an hour old',
      ],
      [
        'a request issued an hour ahead',
        signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS + 3_600, user_id: '1' }, 'k'),
        'k',
        'issued_at is in the future',
      ],
      [
        'a user id beyond 2^53',
        signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS, user_id: 2 ** 53 + 2 }, 'k'),
        'k',
        'no user_id',
      ],
      [
        'no user id',
        signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS }, 'k'),
        'k',
        'no user_id',
      ],
      ['an empty app secret', PYTHON_SIGNED, '', 'no app secret configured'],
    ])('refuses %s', (_name, signed, secret, reason) => {
      expect(parseSignedRequest(signed, secret, NOW)).toEqual({ ok: false, reason });
    });
  });
});

describe('login-connect/login-id', () => {
  describe('loginIdFor()', () => {
    it("derives Meta's HMAC-SHA256 of umc_<ASID>_<app_id>_<page_id> keyed by the Client Token (vector from openssl)", () => {
      expect(
        loginIdFor({
          asid: '1234567890',
          appId: '5550000000000001',
          pageId: '1111111111',
          clientToken: 'client-token-abc',
        }),
      ).toBe('8c3a216ecc46a2709506d321c892d5ddd82984bc5307fc95f048e4e5af4a17d0');
    });
  });
});
