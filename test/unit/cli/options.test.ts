import { UsageError } from '../../../infra/cli/errors';
import {
  closest,
  decimalNumber,
  parseOptions,
  unknownOption,
  wholeNumber,
} from '../../../infra/cli/options';

const OPTIONS = {
  count: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'login-id': { type: 'string' },
  fresh: { type: 'boolean' },
} as const;

const errorOf = (step: () => unknown): UsageError => {
  try {
    step();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('no usage error');
};

describe('cli/options', () => {
  describe('closest()', () => {
    it.each([
      ['cout', 'count'],
      ['conut', 'count'],
      ['dryrun', 'dry-run'],
      ['login', 'login-id'],
      ['fresch', 'fresh'],
    ])('takes %s for --%s', (given, expected) => {
      expect(closest(given, Object.keys(OPTIONS))).toBe(expected);
    });

    it('suggests nothing for a name far from every option', () => {
      expect(closest('verbose', Object.keys(OPTIONS))).toBeUndefined();
      expect(closest('x', Object.keys(OPTIONS))).toBeUndefined();
    });
  });

  describe('unknownOption()', () => {
    it('suggests only for long options, and reads past =value', () => {
      expect(unknownOption('--cuont=3', OPTIONS)).toBe(
        'unknown option --cuont=3 (did you mean --count?)',
      );
      expect(unknownOption('-c', OPTIONS)).toBe('unknown option -c');
    });
  });

  describe('parseOptions()', () => {
    it('returns the values and positionals', () => {
      expect(
        parseOptions({
          argv: ['optin', '--count', '3', '--fresh'],
          options: OPTIONS,
          usage: 'u',
          allowPositionals: true,
        }),
      ).toEqual({ values: { count: '3', fresh: true }, positionals: ['optin'] });
    });

    it('refuses an unknown option with the usage and a suggestion', () => {
      const error = errorOf(() => parseOptions({ argv: ['--frsh'], options: OPTIONS, usage: 'u' }));
      expect(error.message).toBe('unknown option --frsh (did you mean --fresh?)');
      expect(error.usage).toBe('u');
      expect(error.exitCode).toBe(2);
    });

    it('refuses a positional when none is taken, a missing value, and a value to a flag', () => {
      expect(
        errorOf(() => parseOptions({ argv: ['x'], options: OPTIONS, usage: 'u' })).message,
      ).toMatch(/Unexpected argument 'x'/);
      expect(
        errorOf(() => parseOptions({ argv: ['--count'], options: OPTIONS, usage: 'u' })).message,
      ).toMatch(/argument missing/);
      expect(
        errorOf(() => parseOptions({ argv: ['--fresh=yes'], options: OPTIONS, usage: 'u' }))
          .message,
      ).toMatch(/does not take an argument/);
    });
  });

  describe('wholeNumber() and decimalNumber()', () => {
    it.each(['NaN', 'abc', '-1', '0', '2.5', '', '1e3', '101'])(
      'refuses "%s" for a whole number from 1 to 100',
      (raw) => {
        expect(() => wholeNumber('--count', raw, { min: 1, max: 100 }, 'u')).toThrow(
          `--count takes a whole number from 1 to 100, got "${raw}"`,
        );
      },
    );

    it('accepts the bounds', () => {
      expect(wholeNumber('--count', '1', { min: 1, max: 100 }, 'u')).toBe(1);
      expect(wholeNumber('--count', '100', { min: 1, max: 100 }, 'u')).toBe(100);
    });

    it.each(['NaN', 'Infinity', '-0.5', '.5', '48.1'])('refuses "%s" from 0 to 48', (raw) => {
      expect(() => decimalNumber('--age-hours', raw, { min: 0, max: 48 }, 'u')).toThrow(UsageError);
    });

    it('accepts fractions in range', () => {
      expect(decimalNumber('--age-hours', '23.5', { min: 0, max: 48 }, 'u')).toBe(23.5);
      expect(decimalNumber('--age-hours', '0', { min: 0, max: 48 }, 'u')).toBe(0);
    });
  });
});
