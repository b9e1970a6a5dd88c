import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretDocument } from './factories';

/** Writes a secret document to a temp file, as local mode reads it, and returns the path. */
export function writeSecretsFile(doc: Record<string, unknown> = secretDocument()): string {
  const path = join(mkdtempSync(join(tmpdir(), 'lcm-secret-')), 'secret.json');
  writeFileSync(path, JSON.stringify(doc));
  return path;
}
