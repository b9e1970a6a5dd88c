import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainOptin, followupView } from '../../../infra/cli/commands/inspect';
import {
  explainFollowupReason,
  explainReason,
  LEGACY_REASON,
  lockedToPageReason,
  PAGE_PAUSE_ADVICE,
  pagePausedReason,
  REASON,
  REASON_EXPLANATION,
  suppressedReason,
} from '../../../shared/login-connect/reasons';
import { PAGE_PAUSE_REASONS } from '../../../shared/login-connect/send-errors';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const ROOT = join(__dirname, '..', '..', '..');
/** The files that write a reason to a record (an opt-in's statusReason, a follow-up's reason). */
const PRODUCERS = [
  'shared/login-connect/after-failure.ts',
  'shared/login-connect/after-send.ts',
  'shared/login-connect/deliver.ts',
  'shared/login-connect/deliver-followup.ts',
  'shared/login-connect/sweep.ts',
];
const source = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/**
 * Reasons written as string literals rather than catalogue constants: the literals in the
 * expression after each `reason:` or `reason =` (up to the next `,` or `;` ending a line), and any
 * `word:`-prefixed literal (the form of `page_paused:<why>`) anywhere. A literal is allowed only
 * in a `skipped` or `retry` result, which goes to the logs and never to a record.
 */
function literalReasons(text: string): string[] {
  const found: string[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const logOnly = (index: number) => {
    const before = text.slice(0, index).split('\n').slice(-4).join('\n');
    return /result: '(skipped|retry)'/.test(before);
  };
  const expression = /\breason\s*(?::|=(?!=))\s*\n?([^;,{}\n]*(?:\n\s*[?:][^;,{}\n]*)*)/g;
  for (const match of text.matchAll(expression)) {
    if (logOnly(match.index)) continue;
    const operands = (match[1] ?? '').replace(/[!=]==\s*'[^']*'/g, '');
    for (const literal of operands.matchAll(/['`]([^'`]*)['`]/g))
      found.push(`${lineOf(match.index)}: ${literal[1]}`);
  }
  for (const match of text.matchAll(/['`]([a-z_]+:[^'`]*)['`]/g))
    if (!logOnly(match.index)) found.push(`${lineOf(match.index)}: ${match[1]}`);
  return [...new Set(found)];
}

describe('login-connect/reasons', () => {
  describe('the catalogue', () => {
    it('explains every reason code and every legacy one', () => {
      // Arrange
      const codes = [...Object.values(REASON), ...Object.values(LEGACY_REASON)];

      // Act
      const explanations = codes.map((code) => explainReason(code));

      // Assert
      expect(codes.length).toBe(new Set(codes).size);
      for (const [i, explanation] of explanations.entries()) {
        expect([codes[i], explanation]).toEqual([codes[i], expect.stringMatching(/\w{3}.*\.$/)]);
        expect(REASON_EXPLANATION[codes[i] as keyof typeof REASON_EXPLANATION]).toBe(explanation);
      }
    });

    it('explains the reasons with a value, naming the value', () => {
      expect(explainReason(suppressedReason('asked by email'))).toMatch(
        /suppressed before the send \(asked by email\)/,
      );
      expect(explainReason(lockedToPageReason('222'))).toMatch(/another Page \(222\)/);
      for (const pause of PAGE_PAUSE_REASONS)
        expect(explainReason(pagePausedReason(pause))).toMatch(
          new RegExp(`its Page is paused \\(${pause}\\)`),
        );
    });

    it('gives advice for every Page pause reason', () => {
      expect(Object.keys(PAGE_PAUSE_ADVICE).sort()).toEqual([...PAGE_PAUSE_REASONS].sort());
    });

    it('leaves a code it does not know unexplained, for the caller to say so', () => {
      expect(explainReason('a_newer_senders_reason')).toBeUndefined();
      expect(explainFollowupReason('conversation_not_started')).toMatch(
        /Messenger's rules refused it when it was due \(conversation_not_started\)/,
      );
    });
  });

  describe('the producers', () => {
    it.each(PRODUCERS)('%s writes reasons only from the catalogue', (path) => {
      expect(literalReasons(source(path))).toEqual([]);
    });

    it('use every code of the catalogue (none is dead)', () => {
      const text = PRODUCERS.map(source).join('\n');
      const unused = Object.keys(REASON).filter((key) => !text.includes(`REASON.${key}`));
      expect(unused).toEqual([]);
    });

    it('the scan catches a literal reason written to a record', () => {
      const sample = [
        "await deps.store.finish(claim, { status: 'expired', reason: 'new_reason' }, now);",
        "const reason = paused ? REASON.windowClosed : 'other_reason';",
        "const reason = kind === 'window_closed' ? REASON.sendApiWindowClosed : REASON.sendApiRejected;",
        `await deps.store.park(optin, until, \`page_paused:${'$'}{gate.reason}\`, now);`,
        "return { result: 'skipped', reason: 'already_ended' };",
      ].join('\n');
      expect(literalReasons(sample)).toEqual([
        '1: new_reason',
        '2: other_reason',
        `4: page_paused:${'$'}{gate.reason}`,
      ]);
    });
  });

  describe('lcm inspect', () => {
    it.each([
      [
        'expired',
        REASON.windowClosedWhileRetrying,
        /transient errors until the 24 h window closed/,
      ],
      ['expired', REASON.sendApiWindowClosed, /messaging window had closed \(10\/2018278\)/],
      ['failed', REASON.pageNotConfigured, /no token for that Page/],
      ['unknown', REASON.sendApiNoAnswer, /the Send API gave no answer/],
      ['expired', 'a_newer_senders_reason', /the 24 h window closed before a send succeeded/],
    ])('explains an opt-in %s with %s from the catalogue', (status, statusReason, expected) => {
      expect(explainOptin({ status, statusReason }, NOW)).toMatch(expected);
    });

    it('explains a waiting opt-in by its Page pause', () => {
      const item = { status: 'pending', waitingFor: pagePausedReason('page_restricted') };
      expect(explainOptin(item, NOW)).toBe(explainReason('page_paused:page_restricted'));
    });

    it("explains a follow-up's reason", () => {
      const view = followupView({ pk: 'OUT#m1', status: 'expired', reason: 'gave_up_retrying' });
      expect(view.explanation).toBe(REASON_EXPLANATION.gave_up_retrying);
    });
  });
});
