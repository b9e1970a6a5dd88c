/**
 * Body decoding: a Send API request's parameters from JSON, form-encoded or multipart bodies and
 * query strings, with JSON-string fields (`recipient={"id":"1"}`) and bracket fields
 * (`recipient[id]=1`) decoded as Graph does.
 */
import type { IncomingMessage } from 'node:http';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A form or query field: JSON when it looks like JSON (Graph decodes `recipient={"id":"1"}`). */
function decodeField(value: string): unknown {
  if (/^\s*[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** Sets `recipient[login_id]=x` as `{ recipient: { login_id: 'x' } }`, as Graph's form parser does. */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
  const parts = match
    ? [match[1] ?? '', ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? '')]
    : [key];
  if (parts.some((p) => UNSAFE_KEYS.has(p))) return;
  let node = target;
  for (const [i, part] of parts.entries()) {
    const name = part === '' ? String(Object.keys(node).length) : part;
    if (i === parts.length - 1) {
      node[name] = value;
      return;
    }
    const next = node[name];
    if (isRecord(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[name] = created;
      node = created;
    }
  }
}

/** Objects built from `quick_replies[0][title]` fields become arrays. */
function arraysFromIndexes(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = arraysFromIndexes(value[k]);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]);
  return out;
}

export function fieldsFrom(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let bracketed = false;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') continue; // file parts: attachment uploads are not emulated
    bracketed ||= key.includes('[');
    setField(out, key, decodeField(value));
  }
  return bracketed ? (arraysFromIndexes(out) as Record<string, unknown>) : out;
}

export class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep draining so the answer can still be written; just stop keeping the bytes.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      size > MAX_BODY_BYTES
        ? reject(new BodyError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`))
        : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/** JSON, form-encoded or multipart parameters of a Graph request. */
export async function bodyParams(
  raw: Buffer,
  contentType: string | undefined,
): Promise<Record<string, unknown>> {
  const type = (contentType ?? '').toLowerCase();
  const text = raw.toString('utf8');
  const isForm = type.includes('application/x-www-form-urlencoded');
  if (type.includes('multipart/form-data') || isForm) {
    try {
      const form = await new Response(new Uint8Array(raw), {
        headers: { 'content-type': contentType ?? '' },
      }).formData();
      return fieldsFrom(form.entries());
    } catch {
      throw new BodyError(400, 'The request body is not a valid form');
    }
  }
  if (text.trim() === '') return {};
  // JSON declared, or undeclared (`fetch` with a string body says text/plain) and looking like it.
  if (type.includes('json') || /^\s*\{/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // UNCONFIRMED wording: Graph's answer to malformed JSON is not in our reference.
      throw new BodyError(400, 'The request body is not valid JSON');
    }
    if (!isRecord(parsed)) throw new BodyError(400, 'The request body must be a JSON object');
    return parsed;
  }
  return fieldsFrom(new URLSearchParams(text).entries());
}
