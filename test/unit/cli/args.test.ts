import { parseCommandLine, USAGE } from '../../../infra/cli/args';
import { UsageError } from '../../../infra/cli/errors';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const HOUR = 3_600_000;
const parse = (line: string) => parseCommandLine(line.split(' ').filter(Boolean), NOW);
const usageErrorOf = (line: string): UsageError => {
  try {
    parse(line);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`"${line}" was accepted`);
};

describe('cli/args', () => {
  describe('parseCommandLine()', () => {
    it('answers --version and -V', () => {
      expect(parse('--version')).toEqual({ command: 'version' });
      expect(parse('-V')).toEqual({ command: 'version' });
    });

    it('shows a command\'s usage for "help <command>", as "<command> --help" does', () => {
      for (const name of ['inspect', 'list', 'stats', 'redrive', 'pages', 'optout']) {
        const viaHelp = parse(`help ${name}`);
        expect(viaHelp).toEqual(parse(`${name} --help`));
        expect(viaHelp).toMatchObject({
          command: 'help',
          text: expect.stringMatching(`^usage: lcm ${name}`),
        });
      }
    });

    it('takes --profile into the target', () => {
      expect(parse('pages --stack S --profile prod')).toMatchObject({
        target: { local: false, stack: 'S', profile: 'prod' },
      });
      expect(usageErrorOf('pages --profile').message).toMatch(/argument missing/);
    });

    it('shows the usage for no command, help, --help and -h', () => {
      for (const line of ['', 'help', '--help', '-h'])
        expect(parse(line)).toEqual({ command: 'help', text: USAGE });
    });

    it("shows a command's own usage with its --help", () => {
      const help = parse('list --help');

      expect(help).toMatchObject({ command: 'help' });
      expect(help.command === 'help' && help.text).toMatch(/^usage: lcm list /);
    });

    it('reads inspect with its identifier, kind and target', () => {
      expect(parse('inspect 1234 --kind psid --local --json')).toEqual({
        command: 'inspect',
        id: '1234',
        kind: 'psid',
        target: { local: true },
        json: true,
      });
    });

    it('reads list with defaults: the last 24 h, 50 opt-ins', () => {
      expect(parse('list')).toEqual({
        command: 'list',
        sinceMs: NOW - 24 * HOUR,
        limit: 50,
        target: { local: false },
        json: false,
      });
    });

    it('reads list filters and explicit resources', () => {
      expect(
        parse(
          'list --status expired --page 111 --since 7d --limit 5 --table t --endpoint-url http://127.0.0.1:8000 --region eu-west-1',
        ),
      ).toEqual({
        command: 'list',
        status: 'expired',
        pageId: '111',
        sinceMs: NOW - 7 * 24 * HOUR,
        limit: 5,
        target: {
          local: false,
          table: 't',
          endpointUrl: 'http://127.0.0.1:8000',
          region: 'eu-west-1',
        },
        json: false,
      });
    });

    it('reads stats, redrive and optout', () => {
      expect(parse('stats --since 2026-11-20 --stack LoginConnect')).toMatchObject({
        command: 'stats',
        sinceMs: Date.parse('2026-11-20T00:00:00Z'),
        target: { local: false, stack: 'LoginConnect' },
      });
      expect(parse('redrive --dry-run --max 20')).toMatchObject({
        command: 'redrive',
        dryRun: true,
        max: 20,
      });
      expect(parseCommandLine(['optout', 'abc', '--reason', 'asked by phone'], NOW)).toMatchObject({
        command: 'optout',
        id: 'abc',
        reason: 'asked by phone',
      });
    });

    it('reads pages, with a target and --json', () => {
      expect(parse('pages --stack LoginConnect --json')).toEqual({
        command: 'pages',
        target: { local: false, stack: 'LoginConnect' },
        json: true,
      });
    });

    it('shows the pages command in the usage and its own help', () => {
      const help = parse('pages --help');

      expect(parse('--help')).toMatchObject({
        text: expect.stringContaining('pages          each Page'),
      });
      expect(help).toMatchObject({
        command: 'help',
        text: expect.stringMatching(/^usage: lcm pages/),
      });
    });

    it.each([
      ['frobnicate', /unknown command "frobnicate"/],
      ['--json', /give a command first/],
      ['inspect', /give the login_id, PSID or ASID/],
      ['inspect a b', /one identifier only/],
      ['list extra', /unexpected argument "extra"/],
      ['list --status done', /--status is one of pending, sending, sent/],
      ['list --limit 0', /--limit takes a whole number from 1/],
      ['list --limit 2.5', /--limit takes a whole number/],
      ['list --since soon', /--since takes a duration/],
      ['list --since 500d', /more than 400 days/],
      ['list --bogus', /^unknown option --bogus$/],
      ['list --page', /argument missing/],
      ['redrive --max=-1', /--max takes a whole number from 1/],
      ['redrive --max -1', /'--max' argument is ambiguous/],
      ['inspect x --kind email', /--kind is one of login, psid, asid/],
      ['inspect x --local --stack S', /--local or --stack, not both/],
      ['redrive --status sent', /^unknown option --status$/],
      ['pages 1111111111', /unexpected argument "1111111111"/],
      ['pages --since 1d', /^unknown option --since$/],
      ['list --limt 5', /^unknown option --limt \(did you mean --limit\?\)$/],
      ['list --stauts sent', /^unknown option --stauts \(did you mean --status\?\)$/],
      ['redrive --dryrun', /^unknown option --dryrun \(did you mean --dry-run\?\)$/],
      ['inspect x --jsno', /^unknown option --jsno \(did you mean --json\?\)$/],
      ['inspect x --profle p', /^unknown option --profle \(did you mean --profile\?\)$/],
      ['list -x', /^unknown option -x$/],
      ['inspcet x', /^unknown command "inspcet" \(did you mean inspect\?\)$/],
      ['help frobnicate', /unknown command "frobnicate"/],
      ['help list extra', /unexpected argument "extra"/],
      ['--version extra', /unexpected argument "extra"/],
    ])('refuses "%s" with a usage error', (line, message) => {
      const error = usageErrorOf(line);

      expect(error.message).toMatch(message);
      expect(error.exitCode).toBe(2);
      expect(error.usage).toMatch(/^(usage: lcm|lcm: )/);
    });
  });
});
