import { createHmac } from 'node:crypto';
import {
  headerValue,
  isValidSignature,
  rawBodyOf,
  signatureFor,
} from '../../../shared/webhook/signature';

const SECRET = 'app-secret';

describe('webhook/signature', () => {
  describe('isValidSignature()', () => {
    it('accepts sha256= and the hex HMAC of the raw body', () => {
      const body = Buffer.from('{"object":"page","entry":[]}');
      const header = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

      expect(isValidSignature(body, header, SECRET)).toBe(true);
    });

    it('checks the escaped bytes Facebook sent, not a re-serialised body', () => {
      // Facebook escapes non-ASCII and slashes; JSON.parse + JSON.stringify would change the bytes.
      const raw =
        '{"entry":[{"messaging":[{"message":{"text":"\\u00e4\\u00f6\\u00e5 \\/path"}}]}]}';
      const body = Buffer.from(raw, 'utf8');
      const header = signatureFor(body, SECRET);
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw)), 'utf8');

      expect(isValidSignature(body, header, SECRET)).toBe(true);
      expect(reserialised.equals(body)).toBe(false);
      expect(isValidSignature(reserialised, header, SECRET)).toBe(false);
    });

    it('refuses a signature made with another secret', () => {
      const body = Buffer.from('{}');

      expect(isValidSignature(body, signatureFor(body, 'other-secret'), SECRET)).toBe(false);
    });

    it('refuses a body changed after signing', () => {
      const header = signatureFor('{"a":1}', SECRET);

      expect(isValidSignature(Buffer.from('{"a":2}'), header, SECRET)).toBe(false);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['the legacy sha1 form', `sha1=${createHmac('sha1', SECRET).update('{}').digest('hex')}`],
      ['without prefix', createHmac('sha256', SECRET).update('{}').digest('hex')],
      ['truncated', signatureFor('{}', SECRET).slice(0, 40)],
      ['not hex', `sha256=${'z'.repeat(64)}`],
    ])('refuses a header that is %s', (_name, header) => {
      expect(isValidSignature(Buffer.from('{}'), header, SECRET)).toBe(false);
    });

    it('accepts upper-case hex digits', () => {
      const header = signatureFor('{}', SECRET)
        .replace(/[a-f]/g, (c) => c.toUpperCase())
        .replace('SHA256', 'sha256');

      expect(isValidSignature(Buffer.from('{}'), header, SECRET)).toBe(true);
    });

    it('refuses everything when the app secret is empty', () => {
      expect(isValidSignature(Buffer.from('{}'), signatureFor('{}', ''), '')).toBe(false);
    });
  });

  describe('rawBodyOf()', () => {
    it('decodes a base64 body from API Gateway to the bytes that were signed', () => {
      const raw = '{"text":"\\u00e4 caf\u00e9"}';
      const header = signatureFor(Buffer.from(raw, 'utf8'), SECRET);
      const body = rawBodyOf(Buffer.from(raw, 'utf8').toString('base64'), true);

      expect(body.toString('utf8')).toBe(raw);
      expect(isValidSignature(body, header, SECRET)).toBe(true);
    });

    it('keeps a plain body as its UTF-8 bytes, and an absent one as empty', () => {
      expect(rawBodyOf('caf\u00e9', false)).toEqual(Buffer.from('caf\u00e9', 'utf8'));
      expect(rawBodyOf(undefined, false).length).toBe(0);
    });
  });

  describe('headerValue()', () => {
    it('finds a header whatever its case', () => {
      expect(headerValue({ 'X-Hub-Signature-256': 'v' }, 'x-hub-signature-256')).toBe('v');
      expect(headerValue({ 'x-hub-signature-256': 'w' }, 'x-hub-signature-256')).toBe('w');
      expect(headerValue(undefined, 'x')).toBeUndefined();
    });
  });
});
