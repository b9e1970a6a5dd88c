import { createHash } from 'node:crypto';
import { DynamoDbPersonStore } from '../../../../shared/store/dynamodb-person-store';
import {
  getItems,
  type Item,
  type ItemKey,
  kindsOf,
  queryPartition,
} from '../../../../shared/store/inspect';
import {
  keys,
  type PersonId,
  type PersonKind,
  personKey,
} from '../../../../shared/store/table-definition';
import { type Context, KIND_LABEL } from '../../context';
import { CliError, UsageError } from '../../errors';

/**
 * The reads behind `lcm inspect`, through the read-only port (`shared/store/inspect.ts`) and the
 * person store's `identity()`: never a Scan, never a write.
 */

/** Only `identity()` is called on this store, and it writes nothing: the retention is never used. */
const READ_ONLY_RETENTION = { optinDays: 1, lockDays: 1, suppressionDays: 1, eventDays: 1 };

/** Everything the table holds about one person, as `buildInspectView` takes it. */
export interface PersonRecords {
  query: { id: string; kind: PersonKind };
  /** Every identifier linked to the one asked for (empty when found only as a rejected opt-in). */
  identity: PersonId[];
  /** Every item of their partitions, and the opt-ins (and locks) their first messages name. */
  items: Item[];
  /** The follow-up items their `MSG#` pointers name. */
  outbound: Item[];
  /** The `REJECTED#LOGIN#<sha256 of the id>` items. */
  rejected: Item[];
}

/** Which kind of identifier `id` is: as told, or found by its partitions. */
export async function resolveKind(
  ctx: Context,
  tableName: string,
  id: string,
  kind: PersonKind | undefined,
  usage: 'inspect' | 'optout',
): Promise<PersonKind | undefined> {
  if (kind) return kind;
  const kinds = await kindsOf(ctx.doc(), tableName, id);
  if (kinds.length > 1)
    throw new UsageError(
      `${id} is known as ${kinds.map((k) => KIND_LABEL[k]).join(' and ')}: say which with --kind ${kinds.join('|')}.`,
    );
  if (kinds.length === 0 && usage === 'optout')
    throw new UsageError(
      `No records for ${id}: say what it is with --kind login|psid|asid to opt it out anyway.`,
    );
  return kinds[0];
}

/** The partition holding the rejected opt-ins whose login_id was exactly `id`. */
export function rejectedOptinPartition(id: string): string {
  const loginIdSha256 = createHash('sha256').update(id, 'utf8').digest('hex');
  return keys.rejectedOptin({ loginIdSha256, itemSha256: '' }).pk;
}

/**
 * Reads everything about the person `id` names: their linked identifiers' partitions, the items
 * those point to, and the rejected opt-ins with this `login_id`. Throws `CliError` when nothing
 * at all is found.
 */
export async function readPerson(
  ctx: Context,
  tableName: string,
  args: { id: string; kind?: PersonKind },
): Promise<PersonRecords> {
  // Opt-ins that broke the contract are kept under the hash of their login_id string.
  const [kind, rejected] = await Promise.all([
    resolveKind(ctx, tableName, args.id, args.kind, 'inspect'),
    queryPartition(ctx.doc(), tableName, rejectedOptinPartition(args.id)),
  ]);
  if (kind === undefined && rejected.length > 0)
    return {
      query: { id: args.id, kind: 'login' },
      identity: [],
      items: [],
      outbound: [],
      rejected,
    };
  if (kind === undefined)
    throw new CliError(
      `Nothing found for ${args.id}: no LOGIN#, PSID# or ASID# records, and no rejected opt-in with this login_id. If it is a login_id, the opt-in webhook never reached us or its records' TTL has passed: check the Page is subscribed to messaging_optins and the app to the Page.`,
    );
  const person: PersonId = { kind, id: args.id };
  const people = new DynamoDbPersonStore(ctx.doc(), tableName, READ_ONLY_RETENTION);
  const { ids } = await people.identity(person);
  let read = 0;
  const partitions = await Promise.all(
    ids.map(async (id) => {
      const items = await queryPartition(ctx.doc(), tableName, personKey(id));
      read += 1;
      ctx.progress(`read ${read} of ${ids.length} partitions`);
      return items;
    }),
  );
  const items = partitions.flat();
  const refs = items
    .filter((item) => String(item.sk).startsWith('MSG#'))
    .map((item) => item.ref as ItemKey | undefined)
    .filter((ref): ref is ItemKey => ref !== undefined && typeof ref.pk === 'string');
  // A first message names its PSID before the person replies (and the link exists): read that
  // opt-in and its lock too, so a PSID leads to the opt-in whose message reached it.
  const known = new Set(ids.map(personKey));
  const firstMessages = refs
    .filter((ref) => ref.pk.startsWith('LOGIN#') && !known.has(ref.pk))
    .flatMap((ref) => [ref, { pk: ref.pk, sk: 'LOCK' }]);
  const outbound = refs.filter((ref) => ref.pk.startsWith('OUT#'));
  if (outbound.length + firstMessages.length > 0)
    ctx.progress(`reading ${outbound.length + firstMessages.length} linked items`);
  const fetched =
    outbound.length + firstMessages.length > 0
      ? await getItems(ctx.doc(), tableName, [...outbound, ...firstMessages])
      : [];
  return {
    query: person,
    identity: ids,
    items: [...items, ...fetched.filter((item) => !String(item.pk).startsWith('OUT#'))],
    outbound: fetched.filter((item) => String(item.pk).startsWith('OUT#')),
    rejected,
  };
}
