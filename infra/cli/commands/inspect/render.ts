import type { PersonId } from '../../../../shared/store/table-definition';
import { KIND_LABEL, shortId } from '../../context';
import { formatFields, formatTable } from '../../table';
import { formatLatency, msOf, relativeTime } from '../../time';
import {
  type ErrorView,
  type InspectView,
  type LockView,
  MAX_EVENTS,
  type OptinView,
} from './types';

/** The human form of `lcm inspect`: sections in the order an operator asks the questions. */

const label = (p: PersonId, short = true) =>
  `${KIND_LABEL[p.kind]} ${short ? shortId(p.id) : p.id}`;
const when = (iso: string | undefined, nowMs: number) => {
  const ms = msOf(iso);
  return ms === undefined ? undefined : relativeTime(ms, nowMs);
};
const stamped = (iso: string | undefined, nowMs: number) =>
  iso === undefined ? undefined : `${iso}  (${when(iso, nowMs)})`;

function windowText(endsAt: string | undefined, nowMs: number): string | undefined {
  const endMs = msOf(endsAt);
  if (endMs === undefined) return undefined;
  const span = relativeTime(endMs, nowMs);
  return endMs > nowMs ? `open, closes ${span}` : `closed ${span}`;
}

function errorCode(e: ErrorView): string {
  if (e.code === undefined) return e.network ?? '';
  return e.subcode === undefined ? String(e.code) : `${e.code}/${e.subcode}`;
}

function renderOptin(o: OptinView, locks: LockView[], nowMs: number): string {
  const lock = locks.find((l) => l.loginId === o.loginId);
  const receipt =
    o.receipt === 'read'
      ? `read ${when(o.readAt, nowMs) ?? ''}${o.deliveredAt ? ` (delivered ${when(o.deliveredAt, nowMs)})` : ''}`
      : o.receipt === 'delivered'
        ? `delivered ${when(o.deliveredAt, nowMs) ?? ''}`
        : o.status === 'sent'
          ? 'none yet'
          : undefined;
  const lines = [
    `Opt-in  login_id ${o.loginId}${o.pageId ? `  Page ${o.pageId}` : ''}${o.linked ? '' : '\n  (its first message reached this PSID; the person has not replied, so the two are not linked yet)'}`,
    formatFields(
      [
        ['status', o.statusReason ? `${o.status} (${o.statusReason})` : o.status],
        ['why', o.explanation],
        ['opt-in', stamped(o.optinAt, nowMs)],
        [
          'window',
          o.windowEndsAt
            ? `ends ${o.windowEndsAt}  (${windowText(o.windowEndsAt, nowMs)})`
            : undefined,
        ],
        ['received', stamped(o.receivedAt, nowMs)],
        ['sources', o.sources.length > 0 ? o.sources.join(', ') : undefined],
        [
          'attempts',
          `${o.attempts}${o.lastAttemptAt ? `, last ${when(o.lastAttemptAt, nowMs)}` : ''}`,
        ],
        ['next attempt', o.nextAttemptAt ? when(o.nextAttemptAt, nowMs) : undefined],
        ['waiting for', o.waitingFor],
        [
          'lease',
          o.leaseOwner
            ? `${o.leaseOwner}, ${msOf(o.leaseUntil) !== undefined && (msOf(o.leaseUntil) as number) < nowMs ? `ran out ${when(o.leaseUntil, nowMs)}` : `until ${when(o.leaseUntil, nowMs)}`}`
            : undefined,
        ],
        [
          'sent',
          o.sentAt
            ? `${o.sentAt}  (${when(o.sentAt, nowMs)}${o.latencyMs !== undefined ? `, ${formatLatency(o.latencyMs)} after the opt-in` : ''})`
            : undefined,
        ],
        ['message id', o.messageId],
        ['recipient id', o.recipientId],
        ['receipt', receipt],
        [
          'lock',
          lock
            ? `Page ${lock.pageId}${lock.lockedAt ? `, since ${when(lock.lockedAt, nowMs)}` : ''}`
            : undefined,
        ],
        [
          'sweeper',
          o.sweepAt ? `looks at it ${when(o.sweepAt, nowMs)} if nothing else does` : undefined,
        ],
        ['finished', o.finishedAt ? when(o.finishedAt, nowMs) : undefined],
        ['errors', o.errors.length === 0 ? 'none' : String(o.errors.length)],
      ],
      '  ',
    ),
  ];
  if (o.errors.length > 0) {
    lines.push(
      formatTable(
        ['#', 'at', 'kind', 'code', 'http', 'message'],
        o.errors.map((e, i) => [
          String(e.attempt ?? i + 1),
          when(e.at, nowMs) ?? '',
          e.kind ?? '',
          errorCode(e),
          e.httpStatus === undefined ? '' : String(e.httpStatus),
          e.message ?? '',
        ]),
        { indent: '    ', align: ['right'] },
      ),
    );
  }
  return lines.join('\n');
}

function renderRejected(view: InspectView, nowMs: number): string {
  return [
    'Rejected opt-ins (broke the input contract; never sent)',
    formatTable(
      ['received', 'Page', 'item', 'reason'],
      view.rejected.map((r) => [
        when(r.receivedAt, nowMs) ?? '',
        r.pageId ?? '',
        `${(r.itemSha256 ?? '').slice(0, 12)}… ${r.itemBytes ?? '?'} bytes`,
        r.reason,
      ]),
      { indent: '  ' },
    ),
  ].join('\n');
}

/** The human form of `lcm inspect`: sections in the order an operator asks the questions. */
export function renderInspect(view: InspectView, nowMs: number): string {
  if (view.identity.length === 0) {
    const kept = view.rejected[0]?.loginIdLength;
    return `${label(view.query, false)}  found only as a rejected opt-in${kept ? ` (a login_id of ${kept} characters)` : ''}\n\n${renderRejected(view, nowMs)}\n`;
  }
  const sections: string[] = [];
  const others = view.identity.length - 1;
  sections.push(
    `${label(view.query, false)}  found as ${KIND_LABEL[view.query.kind]}; ${others === 0 ? 'no other identifiers linked' : `${others} other identifier${others === 1 ? '' : 's'} linked`}`,
  );
  sections.push(
    [
      'Identifiers',
      formatTable(
        ['kind', 'id'],
        view.identity.map((p) => [KIND_LABEL[p.kind], p.id]),
        { indent: '  ' },
      ),
    ].join('\n'),
  );
  if (view.optins.length === 0) {
    sections.push(
      "Opt-in  none: no OPTIN record for these identifiers. The opt-in webhook never reached us, or the record's TTL has passed.",
    );
  } else {
    for (const optin of view.optins) sections.push(renderOptin(optin, view.locks, nowMs));
  }
  sections.push(
    view.suppressions.length === 0
      ? 'Suppressions  none'
      : [
          'Suppressions',
          formatTable(
            ['identifier', 'source', 'reason', 'code', 'when'],
            view.suppressions.map((s) => [
              label(s),
              s.source,
              s.reason,
              s.code === undefined ? '' : errorCode(s),
              when(s.suppressedAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  sections.push(
    view.links.length === 0
      ? 'Links  none'
      : [
          'Links',
          formatTable(
            ['from', '', 'to', 'Page', 'linked'],
            view.links.map((l) => [
              label(l.from),
              '↔',
              label(l.to),
              l.pageId ?? '',
              when(l.linkedAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  for (const p of view.profiles) {
    sections.push(
      [
        `PSID profile  ${p.psid}`,
        formatFields(
          [
            ['Page', p.pageId],
            ['login_id', p.loginId],
            ['last user message', stamped(p.lastUserMessageAt, nowMs)],
            [
              'window',
              p.windowEndsAt
                ? `${windowText(p.windowEndsAt, nowMs)}${p.windowOpen ? ' (RESPONSE and UPDATE allowed)' : ' (only tagged messages)'}`
                : undefined,
            ],
          ],
          '  ',
        ),
      ].join('\n'),
    );
  }
  sections.push(
    view.followups.length === 0
      ? 'Follow-up messages  none'
      : [
          'Follow-up messages',
          formatTable(
            ['id', 'to', 'Page', 'status', 'type', 'created', 'sent', 'attempts', 'reason'],
            view.followups.map((f) => [
              f.id,
              f.to.loginId ? `login_id ${shortId(f.to.loginId)}` : `psid ${f.to.psid ?? ''}`,
              f.pageId ?? '',
              f.receipt ? `${f.status} (${f.receipt})` : f.status,
              f.tag ? `${f.messagingType ?? ''} ${f.tag}` : (f.messagingType ?? ''),
              when(f.createdAt, nowMs) ?? '',
              when(f.sentAt, nowMs) ?? '',
              String(f.attempts),
              f.reason ?? (f.lastError ? `last error ${errorCode(f.lastError)}` : ''),
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  sections.push(
    view.events.length === 0
      ? 'Unhandled events  none'
      : [
          `Unhandled events (newest ${MAX_EVENTS} at most)`,
          formatTable(
            ['under', 'type', 'channel', 'at'],
            view.events.map((e) => [
              label(e.owner),
              e.eventType,
              e.channel ?? '',
              when(e.eventAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  if (view.rejected.length > 0) sections.push(renderRejected(view, nowMs));
  return `${sections.join('\n\n')}\n`;
}
