/** The operators' CLI, run for real (`bin/lcm.js … --local`) against a running local stack. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RunningStack } from './local-stack';

const LCM = join(__dirname, '..', '..', 'bin', 'lcm.js');

export interface LcmRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lcm <args> --local` on the stack's data folder, as `npx lcm` would; never rejects on an exit code. */
export function runLcm(stack: RunningStack, ...args: string[]): Promise<LcmRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LCM, ...args, '--local'], {
      env: { ...process.env, LCM_DATA_DIR: stack.info.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `lcm <args> --local --json`; its parsed answer, or an error with its exit code and stderr. */
export async function runLcmJson<T = Record<string, unknown>>(
  stack: RunningStack,
  ...args: string[]
): Promise<T> {
  const run = await runLcm(stack, ...args, '--json');
  if (run.code !== 0) throw new Error(`lcm ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
