import type { RejectedOptinJob } from '../messages';
import { DAY_S, epochSeconds, iso } from './dynamo-helpers';
import { keys, optinDayKey } from './table-definition';

/**
 * The `REJECTED#` item of a webhook opt-in that broke the input contract. Bounded whatever the
 * opt-in held (the job already is). It also sits in the `byOptinDay` index, under the day it was
 * received, with `status: rejected`, so `lcm list` and `lcm stats` show it next to the opt-ins;
 * it never enters the `pending` index, so the sweeper never sees it. Kept `retention.eventDays`.
 */
export function rejectedOptinItem(
  job: RejectedOptinJob,
  retention: { eventDays: number },
  nowMs: number,
): Record<string, unknown> {
  const receivedAt = iso(job.receivedAt);
  return {
    ...keys.rejectedOptin({ loginIdSha256: job.loginIdSha256, itemSha256: job.item.sha256 }),
    type: 'rejected_optin',
    status: 'rejected',
    statusReason: job.reason,
    channel: job.channel,
    ...(job.loginId !== undefined ? { loginId: job.loginId } : {}),
    ...(job.loginIdSha256 !== undefined ? { loginIdSha256: job.loginIdSha256 } : {}),
    ...(job.loginIdLength !== undefined ? { loginIdLength: job.loginIdLength } : {}),
    ...(job.pageId !== undefined ? { pageId: job.pageId } : {}),
    receivedAt,
    rejectedAt: iso(nowMs),
    itemSha256: job.item.sha256,
    itemBytes: job.item.bytes,
    itemExcerpt: job.item.excerpt,
    listPk: optinDayKey(job.receivedAt),
    listSk: `${receivedAt}#REJECTED#${job.item.sha256}`,
    expiresAt: epochSeconds(nowMs) + retention.eventDays * DAY_S,
  };
}
