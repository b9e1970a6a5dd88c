import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** After `npm ci --omit=dev` the `node` package (Node 22) is gone: the machine's Node runs lcm. */
const SYSTEM_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find(existsSync) ?? process.execPath;

let dir: string;

/**
 * A copy of what `npm ci --omit=dev` leaves: bin/, the bundle `prepare` builds (built here by the
 * same `build:cli` script, into the copy), and node_modules holding only the packages the lock
 * file does not mark dev (linked from this checkout). No tsx, no TypeScript, no sources.
 */
function productionCopy(): string {
  const copy = mkdtempSync(join(tmpdir(), 'lcm-omit-dev-'));
  mkdirSync(join(copy, 'bin'));
  execFileSync('cp', [join(ROOT, 'bin', 'lcm.js'), join(copy, 'bin', 'lcm.js')]);
  execFileSync('cp', [join(ROOT, 'package.json'), join(copy, 'package.json')]);
  const [tool, ...args] = (pkg.scripts['build:cli'] ?? '').split(' ');
  expect(tool).toBe('esbuild');
  const outfile = `--outfile=${join(copy, 'dist', 'lcm.js')}`;
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'esbuild'),
    args.map((arg) => (arg.startsWith('--outfile=') ? outfile : arg)),
    { cwd: ROOT },
  );
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level packages only; nested ones come with their parent's folder.
    if (!path.startsWith('node_modules/') || path.slice(13).includes('node_modules/')) continue;
    if (entry.dev || !existsSync(join(ROOT, path))) continue;
    mkdirSync(dirname(join(copy, path)), { recursive: true });
    symlinkSync(join(ROOT, path), join(copy, path));
  }
  return copy;
}

const lcm = (...args: string[]) =>
  spawnSync(SYSTEM_NODE, [join(dir, 'bin', 'lcm.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });

describe('bin/lcm.js', () => {
  beforeAll(() => {
    dir = productionCopy();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the production copy holds no dev dependency', () => {
    // Type packages hold no code; @types/node also comes with a runtime dependency
    // (@aws-lambda-powertools/tracer -> aws-xray-sdk-core -> @types/cls-hooked).
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => !name.startsWith('@types/'));
    for (const name of ['tsx', 'typescript', 'jest', ...devOnly])
      expect([name, existsSync(join(dir, 'node_modules', name))]).toEqual([name, false]);
    expect(existsSync(join(dir, 'node_modules', '@aws-sdk', 'client-sqs'))).toBe(true);
  });

  it('answers --version and help without dev dependencies, on the machine Node', () => {
    // Act
    const version = lcm('--version');
    const help = lcm('help');
    const helpList = lcm('help', 'list');

    // Assert
    expect(version).toMatchObject({ status: 0, stdout: `lcm ${pkg.version}\n`, stderr: '' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^lcm: the operators' inspector/);
    expect(helpList.stdout).toMatch(/^usage: lcm list/);
  });

  it('runs a command from the bundle, finding the data folder beside its package.json', () => {
    const run = lcm('inspect', 'x', '--local');

    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `lcm: No running local stack: start it with npm start (looked for ${join(dir, '.local', 'stack.json')}).\n`,
    );
  });

  it('exits 2 on a usage error', () => {
    const run = lcm('list', '--limt', '5');

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^lcm: unknown option --limt \(did you mean --limit\?\)/);
  });
});

describe('npm start and npm run simulate', () => {
  // As package.json's scripts run them: Node with the tsx loader.
  const script = (file: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', file, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });

  it('npm start -- --help prints the usage and exits 0 without starting anything', () => {
    const run = script('infra/local/start.ts', '--help');

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: npm start/);
  });

  it('npm run simulate with a bad number exits 2 at once instead of polling', () => {
    const run = script('infra/local/simulate.ts', 'optin', '--timeout-seconds', 'NaN');

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^simulate: --timeout-seconds takes a whole number/);
  });
});
