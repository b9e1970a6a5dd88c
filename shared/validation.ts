import type * as z from './zod';

/** Renders a path like `firstMessages.pages.123.message.quick_replies[2].title`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** One line per issue, each naming the field it is about. */
export function formatIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `  - ${formatPath(prefix, issue.path)}: ${issue.message}`)
    .join('\n');
}
