/**
 * `lcm inspect <id>`: a person's whole story. `read.ts` reads the records, `view.ts` turns them
 * into the `--json` view, `render.ts` prints that view for people.
 */
import type { PersonKind } from '../../../../shared/store/table-definition';
import type { Context, Outcome } from '../../context';
import { requireTable, withAws } from '../../target';
import { readPerson } from './read';
import { renderInspect } from './render';
import type { InspectView } from './types';
import { buildInspectView } from './view';

export { resolveKind } from './read';
export { renderInspect } from './render';
export type * from './types';
export { buildInspectView, errorView, explainOptin, followupView, optinView } from './view';

/** Reads everything about the person `id` names. */
export async function inspectPerson(
  ctx: Context,
  args: { id: string; kind?: PersonKind },
): Promise<Outcome<InspectView>> {
  const tableName = requireTable(ctx.target);
  const call = {
    actions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    resource: `table ${tableName}`,
    target: ctx.target,
  };
  const records = await withAws(call, () => readPerson(ctx, tableName, args));
  const view = buildInspectView({ ...records, nowMs: ctx.nowMs });
  return { view, render: () => renderInspect(view, ctx.nowMs) };
}
