import { isObject } from '../json';
import type { SendFailure } from '../login-connect/send-errors';
import { redactSecrets } from '../redact';
import { graphFailure } from './graph-error';
import type { GraphConfig, SubscribedAppsClient } from './ports';
import { appSecretProof } from './send-api';

/**
 * The webhook fields each Page must send us (README, Configuring the Facebook app):
 * `messaging_optins` drives the first messages, the others link PSIDs, receipts and STOP.
 */
export const REQUIRED_PAGE_FIELDS = [
  'messaging_optins',
  'messages',
  'messaging_postbacks',
  'message_deliveries',
  'message_reads',
] as const;

/**
 * The Page subscription edge. The Page token travels in an `Authorization` header (GET) or the
 * JSON body (POST), never in a URL we could log; `appsecret_proof` and the field names go in the
 * query string, as for the Send API.
 */
export function subscribedAppsClient(
  config: GraphConfig,
  fetchImpl: typeof fetch = fetch,
): SubscribedAppsClient {
  const base = config.baseUrl.replace(/\/+$/, '');
  const url = (pageId: string, query: Record<string, string>) =>
    `${base}/${config.version}/${encodeURIComponent(pageId)}/subscribed_apps?${new URLSearchParams(query)}`;

  async function call(
    request: () => Promise<Response>,
    known: string[],
  ): Promise<{ ok: true; json: Record<string, unknown> } | { ok: false; failure: SendFailure }> {
    let response: Response;
    try {
      response = await request();
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      const message = (error as { message?: unknown } | null)?.message;
      return {
        ok: false,
        failure: {
          network: timedOut ? 'timeout' : 'error',
          message: timedOut
            ? `no answer within ${config.timeoutMs} ms`
            : redactSecrets(typeof message === 'string' ? message : 'network error', known),
        },
      };
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (response.ok && isObject(json)) return { ok: true, json };
    return { ok: false, failure: graphFailure(response.status, json, known) };
  }

  return {
    async list(pageId, accessToken, appSecret) {
      const answer = await call(
        () =>
          fetchImpl(url(pageId, { appsecret_proof: appSecretProof(accessToken, appSecret) }), {
            headers: { authorization: `Bearer ${accessToken}` },
            signal: AbortSignal.timeout(config.timeoutMs),
          }),
        [accessToken, appSecret],
      );
      if (!answer.ok) return answer;
      const data = Array.isArray(answer.json.data) ? answer.json.data : [];
      return {
        ok: true,
        apps: data.filter(isObject).map((app) => ({
          ...(typeof app.id === 'string' ? { id: app.id } : {}),
          ...(typeof app.name === 'string' ? { name: app.name.slice(0, 200) } : {}),
          fields: (Array.isArray(app.subscribed_fields) ? app.subscribed_fields : []).filter(
            (f): f is string => typeof f === 'string',
          ),
        })),
      };
    },

    async subscribe(pageId, fields, accessToken, appSecret) {
      const answer = await call(
        () =>
          fetchImpl(
            url(pageId, {
              subscribed_fields: fields.join(','),
              appsecret_proof: appSecretProof(accessToken, appSecret),
            }),
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ access_token: accessToken }),
              signal: AbortSignal.timeout(config.timeoutMs),
            },
          ),
        [accessToken, appSecret],
      );
      if (!answer.ok) return answer;
      if (answer.json.success === true || answer.json.success === 'true') return { ok: true };
      return {
        ok: false,
        failure: { httpStatus: 200, message: 'Graph did not confirm the subscription' },
      };
    },
  };
}
