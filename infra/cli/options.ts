import { parseArgs } from 'node:util';
import { UsageError } from './errors';

/**
 * Command-line options for `lcm`, `npm start` and `npm run simulate`: Node's `util.parseArgs`,
 * strict, with its errors turned into `UsageError`s (exit code 2) that name the closest option
 * when one is misspelt.
 */

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; default?: string | boolean }
>;

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two names. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1)
    for (let j = 1; j <= b.length; j += 1) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (up[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (up[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The known name closest to `given` (both without dashes), when close enough to be a slip: a
 * prefix of it, or at most a third of its letters (at least 1, at most 3) off.
 */
export function closest(given: string, known: readonly string[]): string | undefined {
  const wanted = given.toLowerCase();
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    const score = name.startsWith(wanted) && wanted.length >= 2 ? 0.5 : distance(wanted, name);
    if (best === undefined || score < best.score) best = { name, score };
  }
  if (best === undefined) return undefined;
  const allowed = Math.min(3, Math.max(1, Math.floor(best.name.length / 3)));
  return best.score <= allowed ? best.name : undefined;
}

/** `unknown option --limt (did you mean --limit?)` for a misspelt option; else the plain refusal. */
export function unknownOption(given: string, options: OptionSpec): string {
  const bare = given.replace(/^-+/, '').split('=')[0] ?? '';
  const long = given.startsWith('--');
  const match = long ? closest(bare, Object.keys(options)) : undefined;
  return `unknown option ${given}${match ? ` (did you mean --${match}?)` : ''}`;
}

/**
 * `util.parseArgs`, strict. Throws `UsageError` (with `usage`) for an unknown option (suggesting
 * the closest known one), a missing value, or a value given to a flag.
 */
export function parseOptions(args: {
  argv: string[];
  options: OptionSpec;
  usage: string;
  allowPositionals?: boolean;
}): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: args.argv,
      options: args.options,
      allowPositionals: args.allowPositionals ?? false,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /Unknown option '([^']+)'/.exec(message)?.[1] ?? '';
      throw new UsageError(unknownOption(given, args.options), args.usage);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(message.split('.')[0] ?? message, args.usage);
    // node:util names the option in its message (missing value, value given to a flag).
    throw new UsageError(message, args.usage);
  }
}

/**
 * A whole number from `min` to `max` given to `name`, or a `UsageError` saying what it takes (so
 * NaN, fractions, negatives and out-of-range values never reach the command).
 */
export function wholeNumber(
  name: string,
  raw: string,
  range: { min: number; max: number },
  usage: string,
): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < range.min || value > range.max)
    throw new UsageError(
      `${name} takes a whole number from ${range.min} to ${range.max}, got "${raw}"`,
      usage,
    );
  return value;
}

/** A number from `min` to `max` (fractions allowed) given to `name`, or a `UsageError`. */
export function decimalNumber(
  name: string,
  raw: string,
  range: { min: number; max: number },
  usage: string,
): number {
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < range.min || value > range.max)
    throw new UsageError(
      `${name} takes a number from ${range.min} to ${range.max}, got "${raw}"`,
      usage,
    );
  return value;
}
