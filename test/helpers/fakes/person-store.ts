import type { Recipient, RecipientState } from '../../../shared/login-connect/followup-policy';
import type {
  PersonStore,
  SuppressionRequest,
  SuppressionSource,
} from '../../../shared/store/person-store';
import { type PersonId, personKey } from '../../../shared/store/table-definition';

/**
 * An in-memory `PersonStore` for the sender's orchestration: suppressions (across linked
 * identifiers), links, tombstones and what a follow-up's rules read. What the orchestration
 * never calls (erasure, receipts, deletion records) throws, so a test that reaches it says so.
 */
export class FakePersonStore implements PersonStore {
  readonly suppressions = new Map<string, SuppressionRequest & { at: string }>();
  readonly links = new Map<string, Set<string>>();
  readonly tombstones = new Map<string, number>();
  /** What `recipientState` answers, by the recipient's `login_id` or PSID. */
  readonly states = new Map<string, RecipientState>();

  private linked(person: PersonId): PersonId[] {
    const seen = new Map<string, PersonId>([[personKey(person), person]]);
    const queue = [person];
    while (queue.length > 0) {
      const next = queue.pop() as PersonId;
      for (const key of this.links.get(personKey(next)) ?? []) {
        if (seen.has(key)) continue;
        const [prefix, ...rest] = key.split('#');
        const other = {
          kind: (prefix as string).toLowerCase() as PersonId['kind'],
          id: rest.join('#'),
        };
        seen.set(key, other);
        queue.push(other);
      }
    }
    return [...seen.values()];
  }

  async identity(person: PersonId) {
    return { ids: this.linked(person) };
  }

  async suppress(person: PersonId, request: SuppressionRequest, nowMs: number) {
    const ids = this.linked(person);
    for (const id of ids)
      this.suppressions.set(personKey(id), { ...request, at: new Date(nowMs).toISOString() });
    return ids;
  }

  async lift(person: PersonId, source: SuppressionSource) {
    const lifted = this.linked(person).filter(
      (id) => this.suppressions.get(personKey(id))?.source === source,
    );
    for (const id of lifted) this.suppressions.delete(personKey(id));
    return lifted;
  }

  async suppressionOf(person: PersonId) {
    for (const id of this.linked(person)) {
      const found = this.suppressions.get(personKey(id));
      if (found) return { ...found, id };
    }
    return undefined;
  }

  async link(a: PersonId, b: PersonId, _details: { pageId?: string }, _nowMs: number) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const set = this.links.get(personKey(from)) ?? new Set();
      set.add(personKey(to));
      this.links.set(personKey(from), set);
    }
  }

  async recordUserMessage(): Promise<void> {
    throw new Error('FakePersonStore.recordUserMessage: not used by these tests');
  }
  async erase(): Promise<never> {
    throw new Error('FakePersonStore.erase: not used by these tests');
  }
  async bury(hashes: string[], nowMs: number) {
    for (const hash of hashes) this.tombstones.set(hash, nowMs);
  }
  async deletedAt(hashes: string[]) {
    const times = hashes.flatMap((hash) => this.tombstones.get(hash) ?? []);
    return times.length > 0 ? Math.max(...times) : undefined;
  }
  async recordDeletion(): Promise<void> {
    throw new Error('FakePersonStore.recordDeletion: not used by these tests');
  }
  async deletion(): Promise<never> {
    throw new Error('FakePersonStore.deletion: not used by these tests');
  }
  async addToDeletion(): Promise<void> {
    throw new Error('FakePersonStore.addToDeletion: not used by these tests');
  }
  async recipientState(to: Recipient): Promise<RecipientState> {
    const key = to.loginId ?? to.psid;
    const state = this.states.get(key as string) ?? {};
    const suppression = await this.suppressionOf(
      to.loginId !== undefined ? { kind: 'login', id: to.loginId } : { kind: 'psid', id: to.psid },
    );
    return suppression
      ? { ...state, suppressed: { source: suppression.source, reason: suppression.reason } }
      : state;
  }
  async applyReceipt(): Promise<number> {
    throw new Error('FakePersonStore.applyReceipt: not used by these tests');
  }
}
