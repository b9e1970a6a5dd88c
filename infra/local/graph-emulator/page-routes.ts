/**
 * `GET /{version}/{user-id}/permissions` (any user token) and
 * `GET/POST /{version}/{page-id}/subscribed_apps` (the Page's own token, as for sends).
 */
import { DEFAULT_PERMISSIONS, EMULATED_APP, PAGE_FIELDS } from './constants';
import { authenticatePage, expectedProof, findToken } from './credentials';
import { writeGraphError, writeJson } from './http';
import { type GraphCall, readParams, recorder } from './page-call';
import { REFUSE } from './refusals';
import type { EmulatorStore } from './store';

export async function handlePermissions(store: EmulatorStore, call: GraphCall): Promise<void> {
  const { req, res, node, query } = call;
  const method = req.method ?? 'GET';
  if (method !== 'GET') return writeGraphError(res, REFUSE.unsupported(method, node));
  // Any user token is accepted: the emulator cannot tell real user tokens from fake ones, and
  // appsecret_proof is not required here (liberal; a proof that is present must be right).
  const found = findToken({}, query, req.headers.authorization);
  if (!found) return writeGraphError(res, node === 'me' ? REFUSE.noTokenMe() : REFUSE.noToken());
  const proof = query.appsecret_proof;
  if (proof !== undefined) {
    const secrets = await store.secrets();
    if (
      typeof proof !== 'string' ||
      proof.toLowerCase() !== expectedProof(found.token, secrets.appSecret)
    ) {
      return writeGraphError(res, REFUSE.badProof());
    }
  }
  const entry = store.permissionsOf(node);
  const granted = entry?.granted ?? DEFAULT_PERMISSIONS;
  const declined = entry?.declined ?? [];
  writeJson(res, 200, {
    data: [
      ...granted.map((permission) => ({ permission, status: 'granted' })),
      ...declined.map((permission) => ({ permission, status: 'declined' })),
    ],
  });
}

/** GET/POST /{version}/{page-id}/subscribed_apps with the Page's own token. */
export async function handleSubscribedApps(store: EmulatorStore, call: GraphCall): Promise<void> {
  const { req, node, query } = call;
  const method = req.method ?? 'GET';
  const { entry, finish, refuse } = recorder(store, call);
  const answer = (body: unknown) => finish(200, 'accepted', body);

  const read = await readParams(req);
  if ('refusal' in read) return refuse(read.refusal);
  const { body } = read;
  if (method !== 'GET' && method !== 'POST') return refuse(REFUSE.unsupported(method, node));
  const params = { ...query, ...body };
  const secrets = await store.secrets();
  const authorization = req.headers.authorization;
  const noToken = REFUSE.noToken();
  const pageId = authenticatePage({ body, query, authorization, noToken }, secrets, store, entry);
  if (typeof pageId !== 'string') return refuse(pageId);
  // A Page token speaks for its own Page only.
  if (node !== pageId) return refuse(REFUSE.unsupported(method, node));

  const current = store.subscription(pageId);
  if (method === 'GET') {
    return answer({
      data:
        current.fields.length === 0
          ? []
          : [
              {
                category: 'Business',
                link: `https://www.facebook.com/games/?app_id=${EMULATED_APP.id}`,
                name: EMULATED_APP.name,
                id: EMULATED_APP.id,
                subscribed_fields: current.fields,
              },
            ],
    });
  }
  const raw = params.subscribed_fields;
  const fields = Array.isArray(raw)
    ? raw
    : typeof raw === 'string'
      ? raw.split(',').map((f) => f.trim())
      : undefined;
  if (fields === undefined || fields.length === 0 || fields.every((f) => f === ''))
    return refuse(REFUSE.param('The parameter subscribed_fields is required'));
  for (const [i, field] of fields.entries()) {
    if (typeof field !== 'string' || !PAGE_FIELDS.has(field))
      return refuse(REFUSE.oneOf(`subscribed_fields[${i}]`, [...PAGE_FIELDS], field));
  }
  if (current.refuseSubscribe) return refuse(REFUSE.noSubscribePermission());
  store.subscribe(pageId, fields as string[]);
  return answer({ success: true });
}
