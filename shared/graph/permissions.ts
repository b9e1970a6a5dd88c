import { redactSecrets } from '../redact';
import type { GraphConfig, PermissionsLookup } from './ports';

/**
 * `GET /{user-id}/permissions` with the person's user access token, in the Authorization header
 * (never in a URL we could log). Answers the permissions the person granted the Login app.
 */
export function permissionsClient(
  config: GraphConfig,
  fetchImpl: typeof fetch = fetch,
): PermissionsLookup {
  const base = config.baseUrl.replace(/\/+$/, '');
  return async (userId, userAccessToken) => {
    let response: Response;
    try {
      response = await fetchImpl(
        `${base}/${config.version}/${encodeURIComponent(userId)}/permissions`,
        {
          headers: { authorization: `Bearer ${userAccessToken}` },
          signal: AbortSignal.timeout(config.timeoutMs),
        },
      );
    } catch (error) {
      const message = (error as { message?: string } | null)?.message ?? 'network error';
      return { ok: false, message: redactSecrets(message, [userAccessToken]) };
    }
    const body = (await response.json().catch(() => ({}))) as {
      data?: Array<{ permission?: string; status?: string }>;
      error?: { code?: number; message?: string };
    };
    if (!response.ok) {
      return {
        ok: false,
        httpStatus: response.status,
        ...(body.error?.code !== undefined ? { code: body.error.code } : {}),
        message:
          typeof body.error?.message === 'string'
            ? redactSecrets(body.error.message, [userAccessToken]).slice(0, 500)
            : `HTTP ${response.status}`,
      };
    }
    const granted = new Set(
      (body.data ?? [])
        .filter((p) => p.status === 'granted' && typeof p.permission === 'string')
        .map((p) => p.permission as string),
    );
    return { ok: true, granted };
  };
}
