import { writeFileSync } from 'node:fs';
import { redactSecrets } from '../../shared/redact';
import { fileSecretsSource, secretReadErrorKind } from '../../shared/secrets';
import { writeSecretsFile } from '../helpers/secrets-file';

describe('redact', () => {
  describe('redactSecrets()', () => {
    it.each([
      [
        'a Facebook access token of any kind',
        'Malformed access token EAAGm0PX4ZCpsBAKZAxyz123',
        'Malformed access token EAA…[redacted]',
      ],
      ['an app access token', 'token 1234567890|s3cr3tvalue99', 'token 1234567890|[redacted]'],
      ['a bearer key', 'Authorization: Bearer abcdefgh12345', 'Authorization: Bearer [redacted]'],
      [
        'named secrets in query or JSON',
        'access_token=abcd1234&appsecret_proof=ffee99 "api_key": "k-123456"',
        'access_token=[redacted]&appsecret_proof=[redacted] "api_key": "[redacted]"',
      ],
    ])('hides %s', (_name, text, expected) => {
      expect(redactSecrets(text)).toBe(expected);
    });

    it('hides every known value, wherever it appears', () => {
      expect(redactSecrets('x plainsecretvalue y plainsecretvalue', ['plainsecretvalue'])).toBe(
        'x [redacted] y [redacted]',
      );
    });

    it('leaves ordinary error text, login_ids and trace ids alone', () => {
      const text = `(#100) No matching user found for ${'ab12'.repeat(16)}, fbtrace_id AbC9xYz`;

      expect(redactSecrets(text, ['short', undefined])).toBe(text);
    });
  });
});

describe('secrets', () => {
  describe('fileSecretsSource()', () => {
    it('says a malformed secret file is not JSON without quoting any of it', async () => {
      const path = writeSecretsFile();
      writeFileSync(path, '{"appSecret": EAAB-leaked-page-token-1234, "pages": {}}');

      const read = fileSecretsSource(path, 0)();

      await expect(read).rejects.toThrow(
        `Cannot read the secret file ${path}: it is not valid JSON`,
      );
      await expect(read).rejects.not.toThrow(/EAAB|leaked/);
    });
  });

  describe('secretReadErrorKind()', () => {
    it('names the kind of error only', () => {
      expect(
        secretReadErrorKind(Object.assign(new Error('/x: no such file'), { code: 'ENOENT' })),
      ).toBe('ENOENT');
      expect(secretReadErrorKind(new TypeError('value EAAB-1234 is wrong'))).toBe('TypeError');
    });
  });
});
