/**
 * The Graph emulator in a process of its own for `npm run bench:e2e`, so that its CPU is measured
 * apart from the stack's (the local stack otherwise runs it in its own process). Quiet: no line per
 * request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { GraphEmulator } from '../../infra/local/graph-emulator';
import { fileSecretsSource } from '../../shared/secrets';

/** Starts the emulator process on a free loopback port; resolves with its URL. */
export function startGraphProcess(
  secretsFile: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', __filename], {
    env: { ...env, LCM_SECRETS_FILE: secretsFile },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Graph emulator exited with ${code}`)));
    child.once('message', (message: { url: string }) =>
      resolve({ url: message.url, process: child }),
    );
  });
}

if (require.main === module) {
  GraphEmulator.start({
    port: 0,
    // As the local stack starts it: the secret re-read at most every second.
    secrets: fileSecretsSource(process.env.LCM_SECRETS_FILE ?? '', 1),
  }).then(
    (emulator) => {
      process.send?.({ url: emulator.url });
      process.on('SIGTERM', () => {
        emulator.close().finally(() => process.exit(0));
      });
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
