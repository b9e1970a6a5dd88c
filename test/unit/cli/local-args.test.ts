import { UsageError } from '../../../infra/cli/errors';
import { parseSimulateArgs, USAGE as SIMULATE_USAGE } from '../../../infra/local/simulate';
import { parseStartArgs, USAGE as START_USAGE } from '../../../infra/local/start';

const usageErrorOf = (step: () => unknown): UsageError => {
  try {
    step();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('accepted');
};
const simulate = (line: string) => parseSimulateArgs(line.split(' ').filter(Boolean));

describe('local/start arguments', () => {
  describe('parseStartArgs()', () => {
    it('reads --fresh and --help', () => {
      expect(parseStartArgs([])).toEqual({ help: false, fresh: false });
      expect(parseStartArgs(['--fresh'])).toEqual({ help: false, fresh: true });
      expect(parseStartArgs(['-h'])).toEqual({ help: true, fresh: false });
      expect(START_USAGE).toMatch(/^usage: npm start/);
    });

    it.each([
      ['--frsh', /^unknown option --frsh \(did you mean --fresh\?\)$/],
      ['--fresh=yes', /does not take an argument/],
      ['now', /Unexpected argument 'now'/],
    ])('refuses %s with a usage error (exit 2)', (arg, message) => {
      const error = usageErrorOf(() => parseStartArgs([arg]));
      expect(error.message).toMatch(message);
      expect(error.exitCode).toBe(2);
      expect(error.usage).toBe(START_USAGE);
    });
  });
});

describe('local/simulate arguments', () => {
  describe('parseSimulateArgs()', () => {
    it('takes the defaults', () => {
      expect(simulate('optin')).toEqual({
        help: false,
        count: 1,
        duplicates: 1,
        ageHours: 0,
        timeoutMs: 60_000,
      });
    });

    it('reads every option', () => {
      expect(
        simulate(
          'optin --page 111 --count 3 --duplicates 5 --age-hours 25.5 --fault page_restricted --timeout-seconds 120',
        ),
      ).toEqual({
        help: false,
        pageId: '111',
        count: 3,
        duplicates: 5,
        ageHours: 25.5,
        fault: 'page_restricted',
        timeoutMs: 120_000,
      });
      expect(simulate('optin --login-id abc')).toMatchObject({ loginId: 'abc', count: 1 });
    });

    it('shows the usage for --help, with every fault kind', () => {
      expect(simulate('--help')).toEqual({ help: true });
      expect(simulate('optin -h')).toEqual({ help: true });
      expect(SIMULATE_USAGE).toContain('server_error, rate_limit, unavailable');
    });

    it.each([
      ['', /^give a command: optin$/],
      ['optn', /^unknown command "optn" \(did you mean optin\?\)$/],
      ['optin extra', /^unexpected argument "extra"$/],
      ['optin --count NaN', /^--count takes a whole number from 1 to 10000, got "NaN"$/],
      ['optin --count=-1', /^--count takes a whole number/],
      ['optin --count 0', /^--count takes a whole number/],
      ['optin --count 2.5', /^--count takes a whole number/],
      ['optin --duplicates 0', /^--duplicates takes a whole number from 1/],
      ['optin --age-hours=-3', /^--age-hours takes a number from 0/],
      ['optin --age-hours soon', /^--age-hours takes a number/],
      ['optin --timeout-seconds 0', /^--timeout-seconds takes a whole number from 1 to 3600/],
      ['optin --timeout-seconds NaN', /^--timeout-seconds takes a whole number/],
      ['optin --timeout-seconds Infinity', /^--timeout-seconds takes a whole number/],
      ['optin --fault bogus', /^--fault is one of server_error, .*hang, got "bogus"$/],
      ['optin --fault server_eror', /got "server_eror" \(did you mean server_error\?\)$/],
      ['optin --duplicats 2', /^unknown option --duplicats \(did you mean --duplicates\?\)$/],
      ['optin --page abc', /^--page takes a Page id/],
      ['optin --login-id x --count 2', /^--login-id goes with a single opt-in/],
    ])('refuses "%s" with a usage error (exit 2)', (line, message) => {
      const error = usageErrorOf(() => simulate(line));
      expect(error.message).toMatch(message);
      expect(error.exitCode).toBe(2);
      expect(error.usage).toBe(SIMULATE_USAGE);
    });
  });
});
