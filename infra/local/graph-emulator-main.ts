/**
 * The Graph API emulator as a program, for `npm start` and by hand:
 *
 *   GRAPH_PORT=3001 LCM_SECRETS_FILE=.local/secret.json \
 *     node --import tsx infra/local/graph-emulator-main.ts
 *
 * GRAPH_PORT (default 3001; 0 = any free port) is the loopback port. LCM_SECRETS_FILE is the same
 * secret document the local functions read; it is re-read at most every second, so edited Page
 * tokens apply without a restart. Prints `graph emulator listening on http://127.0.0.1:<port>`
 * once ready, one line per send request, and stops on SIGINT/SIGTERM.
 */
import { ENV, intFromEnv, requireEnv } from '../../shared/env';
import { fileSecretsSource } from '../../shared/secrets';
import { GraphEmulator, type RecordedRequest } from './graph-emulator';

const DEFAULT_PORT = 3001;

function formatRequest(request: RecordedRequest): string {
  const who = Object.entries(request.recipient ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  const error = request.error
    ? ` code ${request.error.code}${request.error.error_subcode ? `/${request.error.error_subcode}` : ''}: ${request.error.message}`
    : '';
  return `graph emulator: ${request.method} ${request.path} page=${request.pageId ?? '?'}${who ? ` ${who}` : ''} -> ${request.status} ${request.outcome}${error}`;
}

async function main(): Promise<void> {
  const port = intFromEnv(process.env, 'GRAPH_PORT', DEFAULT_PORT);
  if (port < 0 || port > 65535) throw new Error(`GRAPH_PORT must be 0-65535, got ${port}`);
  const secrets = fileSecretsSource(requireEnv(process.env, ENV.secretsFile), 1);
  // Fail at start rather than on the first send when the file is missing or malformed.
  await secrets();

  const emulator = await GraphEmulator.start({
    port,
    secrets,
    onRequest: (request) => console.log(formatRequest(request)),
  });
  console.log(`graph emulator listening on ${emulator.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal: the user wants out now
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`graph emulator: error while stopping on ${signal}:`, error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`graph emulator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
