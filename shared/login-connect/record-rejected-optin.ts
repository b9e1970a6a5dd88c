import type { RejectedOptinJob } from '../messages';
import type { OptinStore } from '../store/optin-store';

/**
 * A webhook opt-in that broke the input contract: recorded so an operator can see it and why
 * (`lcm inspect`, `lcm list`), never sent. The webhook counted it (`OptinsRejected`).
 */
export async function recordRejectedOptin(
  job: RejectedOptinJob,
  deps: {
    store: Pick<OptinStore, 'recordRejectedOptin'>;
    now(): number;
    log: { warn(message: string, ...extra: Record<string, unknown>[]): void };
  },
  context: Record<string, unknown>,
): Promise<void> {
  await deps.store.recordRejectedOptin(job, deps.now());
  deps.log.warn('opt-in rejected: it broke the input contract; recorded, not sent', {
    ...context,
    reason: job.reason,
    ...(job.pageId !== undefined ? { pageId: job.pageId } : {}),
    // The same tag `loginIdTag` gives a valid login_id: sha256 of the string, 16 hex digits.
    ...(job.loginIdSha256 !== undefined ? { loginIdTag: job.loginIdSha256.slice(0, 16) } : {}),
    itemSha256: job.item.sha256,
    itemBytes: job.item.bytes,
  });
}
