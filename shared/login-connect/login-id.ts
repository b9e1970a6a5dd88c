import { createHmac } from 'node:crypto';

/**
 * The `login_id` Facebook would send for this person, Page and Login app: hex HMAC-SHA256 keyed
 * with the Login app's Client Token over `umc_<ASID>_<app_id>_<page_id>` (Meta's formula).
 */
export function loginIdFor(args: {
  asid: string;
  appId: string;
  pageId: string;
  clientToken: string;
}): string {
  return createHmac('sha256', args.clientToken)
    .update(`umc_${args.asid}_${args.appId}_${args.pageId}`)
    .digest('hex');
}
