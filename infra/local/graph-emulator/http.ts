/** Writing answers: JSON with Graph's headers, Graph errors, control API errors; the client's presence. */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Refusal } from './refusals';
import type { GraphError } from './types';

export const fbtraceId = () => randomBytes(8).toString('base64url');

/** The client is still there to read an answer. */
export function isConnected(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded && res.socket !== null && !res.socket.destroyed;
}

/** Waits `ms`; resolves false as soon as the client disconnects (or the emulator closes). */
export function waitWhileConnected(res: ServerResponse, ms: number): Promise<boolean> {
  if (!isConnected(res)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(isConnected(res));
    }, ms);
    res.once('close', onClose);
  });
}

export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json; charset=UTF-8',
  traceId?: string,
  headers: Record<string, string> = {},
): void {
  if (!isConnected(res)) return;
  const text =
    typeof body === 'string' && !contentType.includes('json') ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    ...(traceId ? { 'x-fb-trace-id': traceId } : {}),
  });
  res.end(text);
}

export function writeGraphError(res: ServerResponse, r: Refusal): void {
  const error: GraphError = { ...r.error, fbtrace_id: fbtraceId() };
  writeJson(res, r.status, { error }, undefined, error.fbtrace_id);
}

export function writeControlError(res: ServerResponse, status: number, message: string): void {
  writeJson(res, status, { error: { message } });
}
