import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Target } from './target';

/** What every command gets: the resolved target, its clients, the time, and a progress channel. */
export interface Context {
  target: Target;
  nowMs: number;
  doc(): DynamoDBDocumentClient;
  sqs(): SQSClient;
  /** Where a long command stands (stderr: one line rewritten on a terminal, else now and then). */
  progress(line: string): void;
}

/** A command's answer: `view` is the `--json` output, `render()` the human one. */
export interface Outcome<T> {
  view: T;
  render(): string;
}

/** How identifiers are named in output. */
export const KIND_LABEL = { login: 'login_id', psid: 'psid', asid: 'asid' } as const;

/** Long ids (a `login_id` is 64 hex characters) shortened for tables; JSON keeps them whole. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}
