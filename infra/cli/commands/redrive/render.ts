import { shortId } from '../../context';
import { formatTable } from '../../table';
import { relativeTime } from '../../time';
import { JOB_KIND_LABEL, type JobKind } from './describe';
import type { RedriveView } from './index';

/** The human form of `lcm redrive`: what was (or would be) moved, by kind and one by one. */
export function renderRedrive(view: RedriveView, nowMs: number): string {
  const lines: string[] = [];
  const plural = (n: number) => `${n} message${n === 1 ? '' : 's'}`;
  const about =
    view.approximateCount === null ? '' : ` (SQS counts about ${view.approximateCount})`;
  lines.push(`Dead-letter queue  ${view.deadLetterQueueUrl}${about}`);
  lines.push(`Send queue         ${view.queueUrl}`);
  lines.push('');
  if (view.dryRun) {
    lines.push(
      view.count === 0
        ? 'Dry run: the dead-letter queue is empty; nothing to move.'
        : `Dry run: would move ${plural(view.count)}; nothing was moved.`,
    );
  } else {
    lines.push(
      view.count === 0 && view.failed === 0
        ? 'The dead-letter queue is empty; nothing moved.'
        : `Moved ${plural(view.count)} to the send queue${view.failed > 0 ? `; ${plural(view.failed)} could not be sent and stay in the DLQ` : ''}.`,
    );
    if (view.skipped > 0)
      lines.push(
        `Skipped ${plural(view.skipped)} about people deleted since: removed from the DLQ, not moved.`,
      );
    if (view.note) lines.push(`Note: ${view.note}.`);
  }
  if (view.messages.length > 0) {
    lines.push('');
    lines.push(
      formatTable(
        ['kind', 'count'],
        (Object.keys(view.kinds) as JobKind[])
          .filter((kind) => view.kinds[kind] > 0)
          .map((kind) => [JOB_KIND_LABEL[kind], String(view.kinds[kind])]),
        { align: [undefined, 'right'] },
      ),
    );
    lines.push('');
    lines.push(
      formatTable(
        ['sqs message id', 'kind', 'details', 'enqueued', 'receives'],
        view.messages.map((m) => [
          m.messageId,
          JOB_KIND_LABEL[m.kind],
          [
            m.loginId ? `login_id ${shortId(m.loginId)}` : undefined,
            m.eventType ? `type ${m.eventType}` : undefined,
            m.followupId ? `id ${m.followupId}` : undefined,
            m.pageId ? `Page ${m.pageId}` : undefined,
            m.problem,
          ]
            .filter(Boolean)
            .join(', '),
          m.enqueuedAt ? relativeTime(Date.parse(m.enqueuedAt), nowMs) : '',
          m.receiveCount === undefined ? '' : String(m.receiveCount),
        ]),
        { align: [undefined, undefined, undefined, undefined, 'right'] },
      ),
    );
  }
  for (const failure of view.failures)
    lines.push(
      `failed: ${failure.messageId} ${failure.code ?? ''} ${failure.message ?? ''}`.trim(),
    );
  if (view.dryRun && view.count > 0)
    lines.push(
      '',
      'Run without --dry-run to move them. Safe: the sender skips what already ended.',
    );
  return `${lines.join('\n')}\n`;
}
