import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Io, run } from '../../../infra/cli/lcm';

let dataDir: string;
let out: string;
let err: string;
const io = (overrides: Partial<Io> = {}): Io => ({
  stdout: (text) => {
    out += text;
  },
  stderr: (text) => {
    err += text;
  },
  env: { LCM_DATA_DIR: dataDir },
  now: () => Date.parse('2026-11-21T12:00:00.000Z'),
  ...overrides,
});

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lcm-cli-'));
  out = '';
  err = '';
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('cli/lcm', () => {
  describe('run()', () => {
    it('prints the usage and exits 0 for --help', async () => {
      expect(await run(['--help'], io())).toBe(0);
      expect(out).toMatch(/^lcm: the operators' inspector/);
      expect(out).toContain('Exit codes: 0 ok, 1 error, 2 usage.');
    });

    it("exits 2 with the command's usage on a bad line", async () => {
      expect(await run(['list', '--limit', 'many'], io())).toBe(2);
      expect(err).toMatch(/^lcm: --limit takes a whole number/);
      expect(err).toContain('usage: lcm list');
    });

    it('exits 1 with a clear sentence when --local finds no running stack', async () => {
      expect(await run(['inspect', 'x', '--local'], io())).toBe(1);
      expect(err).toBe(
        `lcm: No running local stack: start it with npm start (looked for ${join(dataDir, 'stack.json')}).\n`,
      );
    });

    it('exits 1 naming the permission when CloudFormation denies access', async () => {
      const denied = Object.assign(new Error('not authorized to perform DescribeStacks'), {
        name: 'AccessDenied',
      });

      const code = await run(
        ['list', '--stack', 'LoginConnect', '--region', 'eu-west-1'],
        io({ stackOutputs: jest.fn().mockRejectedValue(denied) }),
      );

      expect(code).toBe(1);
      expect(err).toMatch(
        /^lcm: Access denied: these credentials may not cloudformation:DescribeStacks on stack LoginConnect in eu-west-1/,
      );
    });

    it('exits 1 when the stack names no table', async () => {
      const code = await run(
        ['stats', '--stack', 'LoginConnect'],
        io({ stackOutputs: jest.fn().mockResolvedValue({ outputs: {}, region: 'eu-west-1' }) }),
      );

      expect(code).toBe(1);
      expect(err).toContain('stack LoginConnect (eu-west-1) names no table: give --table <name>');
    });

    it('prints the version from package.json for --version', async () => {
      const { version } = jest.requireActual('../../../package.json') as { version: string };

      expect(await run(['--version'], io())).toBe(0);
      expect(out).toBe(`lcm ${version}\n`);
    });

    it('prints a command\'s usage for "help <command>"', async () => {
      expect(await run(['help', 'redrive'], io())).toBe(0);
      expect(out).toMatch(/^usage: lcm redrive/);
      expect(out).toContain('--profile <name>');
    });

    it('exits 2 with a suggestion for a misspelt option', async () => {
      expect(await run(['list', '--limt', '5'], io())).toBe(2);
      expect(err).toMatch(/^lcm: unknown option --limt \(did you mean --limit\?\)\n/);
      expect(out).toBe('');
    });

    it('asks CloudFormation with the --profile given', async () => {
      const outputs = jest.fn().mockResolvedValue({ outputs: {}, region: 'eu-west-1' });

      await run(
        ['stats', '--stack', 'LoginConnect', '--profile', 'ops'],
        io({ stackOutputs: outputs }),
      );

      expect(outputs).toHaveBeenCalledWith('LoginConnect', undefined, undefined, 'ops');
    });
  });
});
