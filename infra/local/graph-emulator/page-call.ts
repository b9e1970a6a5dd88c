/**
 * What the two Page-token routes (sends and subscribed_apps) share: the call as routed, its
 * parameters, its record in `GET /_emulator/requests`, and the answer with Graph's usage headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, bodyParams, readBody } from './body';
import { fbtraceId, writeJson } from './http';
import { type ErrorFields, type Refusal, refusal } from './refusals';
import type { EmulatorStore } from './store';
import type { RecordedRequest } from './types';

/** A Graph call once routed: `/{version}/{node}/{edge}`. */
export interface GraphCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path only, without a trailing slash. */
  path: string;
  /** The node of the path: `me`, a Page id or a user id. */
  node: string;
  /** The query string's parameters, decoded. */
  query: Record<string, unknown>;
}

/** The body's parameters, or the refusal of a body that cannot be read. */
export async function readParams(
  req: IncomingMessage,
): Promise<{ body: Record<string, unknown> } | { refusal: Refusal }> {
  try {
    return { body: await bodyParams(await readBody(req), req.headers['content-type']) };
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return { refusal: refusal(100, `(#100) ${error.message}`, { status: error.status }) };
  }
}

/** Answers a Page-token call once and records it. */
export interface Recorder {
  entry: RecordedRequest;
  finish(
    status: number,
    outcome: RecordedRequest['outcome'],
    body: unknown,
    error?: ErrorFields,
    contentType?: string,
  ): void;
  refuse(r: Refusal): void;
}

/**
 * The record of a call, and how to answer it: the answer carries the usage headers of the
 * token's Page once it is known, and nothing is written to a client that left (outcome
 * `aborted`); either way the call is recorded.
 */
export function recorder(store: EmulatorStore, call: GraphCall): Recorder {
  const entry: RecordedRequest = {
    at: new Date(store.now()).toISOString(),
    method: call.req.method ?? 'GET',
    path: call.path,
    status: 0,
    outcome: 'refused',
  };
  const finish: Recorder['finish'] = (status, outcome, body, error, contentType) => {
    entry.status = status;
    entry.outcome = outcome;
    if (outcome !== 'aborted') {
      const traced = error ? { ...error, fbtrace_id: fbtraceId() } : undefined;
      if (traced) entry.error = traced;
      writeJson(
        call.res,
        status,
        traced ? { error: traced } : body,
        contentType,
        traced?.fbtrace_id,
        entry.pageId !== undefined ? store.usageHeaders(entry.pageId) : {},
      );
    }
    store.record(entry);
  };
  return {
    entry,
    finish,
    refuse: (r) => finish(r.status, 'refused', undefined, r.error),
  };
}
