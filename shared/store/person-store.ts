import type { Recipient, RecipientState } from '../login-connect/followup-policy';
import type { PersonId } from './table-definition';

/** Who asked not to be messaged: Facebook (a send error), the person (STOP), or the business (API). */
export type SuppressionSource = 'send_api' | 'stop' | 'api';

export interface SuppressionRequest {
  source: SuppressionSource;
  reason: string;
  code?: number;
  subcode?: number;
}

/** Every identifier known for one person, found by following `LINK#` items from any of them. */
export interface Identity {
  ids: PersonId[];
}

/** What an erasure reached: every identifier met, and what was deleted. */
export interface Erasure {
  ids: PersonId[];
  /** Items deleted, by kind (`optin`, `lock`, `suppression`, `link`, `person`, `message`, …). */
  deleted: Record<string, number>;
}

/** A data deletion as its status page shows it: no personal data. */
export interface DeletionRecord {
  status: 'completed' | 'not_found' | 'partial';
  reason?: string;
  requestedAt: number;
  completedAt: number;
  deleted: Record<string, number>;
}

export type ReceiptKind = 'delivered' | 'read';

/**
 * What the product knows of a person across Pages: links between their `login_id`s, PSIDs and
 * ASID, their 24 h window, their suppression, and the receipts of what was sent to them.
 */
export interface PersonStore {
  identity(person: PersonId): Promise<Identity>;
  /** Suppresses the person under every identifier linked to `person`; returns them. */
  suppress(person: PersonId, request: SuppressionRequest, nowMs: number): Promise<PersonId[]>;
  /** Lifts suppressions that came from `source` (RESUME lifts only STOP); returns what was lifted. */
  lift(person: PersonId, source: SuppressionSource, nowMs: number): Promise<PersonId[]>;
  /** The suppression on this identifier or any linked one, if there is one. */
  suppressionOf(
    person: PersonId,
  ): Promise<(SuppressionRequest & { id: PersonId; at: string }) | undefined>;
  /** Links two identifiers of one person, both ways. */
  link(a: PersonId, b: PersonId, details: { pageId?: string }, nowMs: number): Promise<void>;
  /**
   * A message from the person: moves their 24 h window, and with `priorLoginId` (a reply to a
   * message sent to that `login_id`) links the PSID to it and carries any suppression across.
   */
  recordUserMessage(
    message: { psid: string; pageId: string; atMs: number; priorLoginId?: string },
    nowMs: number,
  ): Promise<void>;
  /**
   * Deletes every record tied to the person, starting from these identifiers: each identifier's
   * partition (opt-ins, locks, suppressions, links, profile, events, message pointers), every
   * identifier those items name (links, the PSID Graph returned, a profile's `login_id`), and the
   * follow-up messages and `mid` pointers they lead to.
   */
  erase(start: PersonId[]): Promise<Erasure>;
  /** Keeps a tombstone under each keyed hash (see `tombstoneId`), dated now. */
  bury(hashes: string[], nowMs: number): Promise<void>;
  /** The latest deletion among these tombstones (epoch ms), if any. */
  deletedAt(hashes: string[]): Promise<number | undefined>;
  /** Keeps a data deletion's status page under its confirmation code for `days`. */
  recordDeletion(code: string, record: DeletionRecord, days: number): Promise<void>;
  deletion(code: string): Promise<DeletionRecord | undefined>;
  /** Adds a later pass's counts to a deletion's status record, if it still exists. */
  addToDeletion(code: string, deleted: Record<string, number>, nowMs: number): Promise<void>;
  /** What the follow-up rules need to know about a recipient (strongly consistent reads). */
  recipientState(to: Recipient): Promise<RecipientState>;
  /** Marks what was sent to `psid` as delivered/read up to the watermark, or by `mids`. Returns how many changed. */
  applyReceipt(receipt: {
    psid?: string;
    kind: ReceiptKind;
    watermarkMs?: number;
    mids?: string[];
  }): Promise<number>;
}
