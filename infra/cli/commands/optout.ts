import { derivedLoginIds } from '../../../shared/api/data-deletion';
import { OptoutRequestSchema, optOut } from '../../../shared/api/optouts';
import { retentionFromEnv } from '../../../shared/config';
import { DynamoDbPersonStore } from '../../../shared/store/dynamodb-person-store';
import { getItems } from '../../../shared/store/inspect';
import {
  keys,
  type PersonId,
  type PersonKind,
  personKey,
} from '../../../shared/store/table-definition';
import { type Context, KIND_LABEL, type Outcome, shortId } from '../context';
import { UsageError } from '../errors';
import { formatTable } from '../table';
import { type Env, readTargetSecrets, requireTable, withAws } from '../target';
import { msOf, relativeTime } from '../time';
import { resolveKind, type SuppressionView } from './inspect';

export interface OptoutView {
  person: PersonId;
  reason: string;
  /** Every identifier linked to the person, each now suppressed (by this or an earlier opt-out). */
  identifiers: PersonId[];
  suppressions: SuppressionView[];
  /** Set when an ASID's `login_id`s could not be derived, so only linked ones were reached. */
  note?: string;
}

const DEFAULT_REASON = 'requested_off_messenger';

/**
 * `lcm optout`: the rule of `POST /optouts` (`optOut()`, source `api`), then the suppressions as
 * they now stand. An earlier, stronger suppression (Facebook's, or an earlier opt-out) is kept.
 */
export async function optoutPerson(
  ctx: Context,
  args: { id: string; kind?: PersonKind; reason?: string },
  env: Env,
): Promise<Outcome<OptoutView>> {
  const tableName = requireTable(ctx.target);
  const view = await withAws(
    {
      actions: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchGetItem'],
      resource: `table ${tableName}`,
      target: ctx.target,
    },
    async () => {
      const kind = (await resolveKind(ctx, tableName, args.id, args.kind, 'optout')) as PersonKind;
      const person: PersonId = { kind, id: args.id };
      // Suppressions expire like the API's do: SUPPRESSION_RETENTION_DAYS, 730 days by default.
      const people = new DynamoDbPersonStore(ctx.doc(), tableName, retentionFromEnv(env));
      const reason = args.reason ?? DEFAULT_REASON;
      // The API's own schema, so the CLI accepts exactly what POST /optouts accepts.
      const request = OptoutRequestSchema.safeParse(
        kind === 'login'
          ? { loginId: args.id, reason }
          : kind === 'psid'
            ? { psid: args.id, reason }
            : { asid: args.id, reason },
      );
      if (!request.success)
        throw new UsageError(request.error.issues.map((issue) => issue.message).join('; '));
      const { derived, note } =
        kind === 'asid' ? await derive(ctx, args.id) : { derived: [], note: undefined };
      const identifiers = await optOut(request.data, people, ctx.nowMs, derived);
      const items = await getItems(
        ctx.doc(),
        tableName,
        identifiers.map((id) => keys.suppression(id)),
      );
      const order = new Map(identifiers.map((id, i) => [personKey(id), i]));
      const suppressions = items
        .map((item) => {
          const id = identifiers.find((p) => personKey(p) === item.pk) as PersonId;
          return {
            kind: id.kind,
            id: id.id,
            source: String(item.source ?? 'unknown'),
            reason: String(item.reason ?? ''),
            ...(typeof item.code === 'number' ? { code: item.code } : {}),
            ...(typeof item.subcode === 'number' ? { subcode: item.subcode } : {}),
            ...(typeof item.suppressedAt === 'string' ? { suppressedAt: item.suppressedAt } : {}),
          };
        })
        .sort((a, b) => (order.get(personKey(a)) ?? 0) - (order.get(personKey(b)) ?? 0));
      return { person, reason, identifiers, suppressions, ...(note ? { note } : {}) };
    },
  );
  return { view, render: () => renderOptout(view, ctx.nowMs) };
}

/** The `login_id` of every configured Page for an ASID, from the target's secret (as the API does). */
async function derive(ctx: Context, asid: string): Promise<{ derived: PersonId[]; note?: string }> {
  const read = await withAws(
    { actions: ['secretsmanager:GetSecretValue'], resource: 'the secret', target: ctx.target },
    () => readTargetSecrets(ctx.target),
  );
  const unreached = 'login_ids not linked to this ASID were not reached';
  if ('missing' in read) return { derived: [], note: `${read.missing}: ${unreached}.` };
  if (!read.secrets.loginApp)
    return { derived: [], note: `the secret has no loginApp to derive login_ids: ${unreached}.` };
  return { derived: derivedLoginIds(asid, read.secrets) };
}

export function renderOptout(view: OptoutView, nowMs: number): string {
  const n = view.identifiers.length;
  const head = `Opted out ${KIND_LABEL[view.person.kind]} ${view.person.id} (reason: ${view.reason}). ${n} identifier${n === 1 ? '' : 's'} now suppressed:`;
  const table = formatTable(
    ['identifier', 'source', 'reason', 'when'],
    view.suppressions.map((s) => {
      const at = msOf(s.suppressedAt);
      return [
        `${KIND_LABEL[s.kind]} ${shortId(s.id)}`,
        s.source,
        s.reason,
        at === undefined ? '' : relativeTime(at, nowMs),
      ];
    }),
    { indent: '  ' },
  );
  return `${head}\n${table}\n${view.note ? `\nNote: ${view.note}\n` : ''}`;
}
