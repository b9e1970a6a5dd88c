import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphEmulator } from '../../../../infra/local/graph-emulator';
import { parseAppSecrets } from '../../../../shared/secrets';
import { PAGE_ID, PAGE_TOKEN, secretDocument } from '../../../helpers/factories';
import { writeSecretsFile } from '../../../helpers/secrets-file';
import { proofOf, sleep } from './harness';

describe('infra/local/graph-emulator', () => {
  const secrets = parseAppSecrets(secretDocument(), 'test secrets');

  describe('start()', () => {
    it('refuses to listen on a non-loopback address', async () => {
      // Act / Assert
      await expect(
        GraphEmulator.start({ host: '0.0.0.0', secrets: () => secrets }),
      ).rejects.toThrow(/only listens on loopback/);
    });
  });
});

describe('infra/local/graph-emulator-main', () => {
  it('serves on GRAPH_PORT, applies edits of LCM_SECRETS_FILE and stops on SIGTERM', async () => {
    // Arrange
    const file = writeSecretsFile(secretDocument());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../../../../infra/local/graph-emulator-main.ts')],
      {
        cwd: join(__dirname, '../../../..'),
        env: { ...process.env, GRAPH_PORT: '0', LCM_SECRETS_FILE: file },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const ready = /graph emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (ready?.[1]) resolve(ready[1]);
        });
        void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const rotated = 'EAAB-rotated-token';
      const sendWith = async (token: string) => {
        const response = await fetch(`${url}/v25.0/me/messages?appsecret_proof=${proofOf(token)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            recipient: { id: '1234567890123456' },
            messaging_type: 'RESPONSE',
            message: { text: 'hi' },
            access_token: token,
          }),
        });
        return response.status;
      };

      const registered = await fetch(`${url}/_emulator/user-messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ psid: '1234567890123456', pageId: PAGE_ID }),
      });
      expect(registered.status).toBe(201);

      // Act
      const before = await sendWith(PAGE_TOKEN);
      writeFileSync(
        file,
        JSON.stringify(secretDocument({ pages: { [PAGE_ID]: { accessToken: rotated } } })),
      );
      await sleep(1100);
      const withRotated = await sendWith(rotated);
      const withOld = await sendWith(PAGE_TOKEN);
      child.kill('SIGTERM');
      const code = await exited;

      // Assert
      expect(stdout.split('\n')[0]).toBe(`graph emulator listening on ${url}`);
      expect([before, withRotated, withOld]).toEqual([200, 200, 400]);
      expect(stdout).not.toContain(PAGE_TOKEN);
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
