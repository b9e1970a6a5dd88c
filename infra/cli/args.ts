import { OPTIN_STATUSES as OPTIN_RECORD_STATUSES } from '../../shared/store/optin-store';
import type { PersonKind } from '../../shared/store/table-definition';
import { UsageError } from './errors';
import { closest, type OptionSpec, parseOptions, wholeNumber } from './options';
import { DAY_MS, parseSince } from './time';

/** Every status `lcm` filters on: an opt-in record's, and `rejected` (a `REJECTED#` item: a
 * webhook opt-in that broke the input contract, recorded, never sent). */
export const OPTIN_STATUSES = [...OPTIN_RECORD_STATUSES, 'rejected'] as const;

/** `--since` reaches back this far at most: one Query per day, and records expire long before. */
export const MAX_SINCE_DAYS = 400;
const MAX_LIMIT = 10_000;

const TARGET_USAGE = `Target (default: --local while \`npm start\` runs, else give --stack):
  --local               the stack \`npm start\` runs (<LCM_DATA_DIR or .local>/stack.json)
  --stack <name>        a deployed stack: its TableName, QueueUrl and DeadLetterQueueUrl outputs
                        (credentials and region from AWS_PROFILE, AWS_REGION, … as usual)
  --profile <name>      the AWS profile (~/.aws/config) for credentials and region, over AWS_PROFILE
  --table <name>        the table, instead of or over the stack's
  --queue-url <url>     the send queue (redrive)
  --dlq-url <url>       the dead-letter queue (redrive)
  --endpoint-url <url>  an emulator's endpoint, for DynamoDB and SQS
  --region <region>     the AWS region, over AWS_REGION

Output:
  --json                machine-readable JSON (stable field names, ISO times)
  -h, --help            this help`;

export const COMMAND_USAGE = {
  inspect: `usage: lcm inspect <login_id | psid | asid> [--kind login|psid|asid] [target] [--json]

Finds the person by any of their identifiers, follows the links between them, and prints their
whole story: each opt-in (window, status and reason, attempts and errors, the send and its
receipts), the Page lock, suppressions, links, the PSID profile, follow-up messages and unhandled
events. Never prints message text or tokens.

  --kind <kind>         what the id is, when it is known under more than one kind`,
  list: `usage: lcm list [--status <status>] [--page <id>] [--since <duration|ISO>] [--limit N] [target] [--json]

Lists opt-ins, newest first, from the byOptinDay index (one Query per UTC day, never a Scan).

  --status <status>     only this status: ${OPTIN_STATUSES.join(', ')}
  --page <id>           only this Page
  --since <when>        a duration back from now (30m, 24h, 7d) or an ISO date or time (default 24h)
  --limit N             at most N opt-ins (default 50)`,
  stats: `usage: lcm stats [--since <duration|ISO>] [--page <id>] [target] [--json]

Counts opt-ins per status and per Page over the period, and the opt-in→send latency
(sentAt − optinAt) p50/p90/p99 of those sent.

  --since <when>        a duration back from now (30m, 24h, 7d) or an ISO date or time (default 24h)
  --page <id>           only this Page`,
  redrive: `usage: lcm redrive [--dry-run] [--max N] [target] [--json]

Moves messages from the dead-letter queue back to the send queue: each batch is sent to the queue
first and deleted from the DLQ only once the send succeeded. Safe: the sender skips what already
ended.

  --dry-run             count the messages and show their kinds (opt-in, event, follow-up)
                        without moving them
  --max N               move (or look at) at most N messages`,
  pages: `usage: lcm pages [target] [--json]

Shows each Page's health: sending or paused (restricted by Meta, token invalid, rate-limited),
since when, when its next probe may go, the last error, the newest opt-in and first message the
watchdog saw, and the watchdog's check of the app's webhook subscription. Pages in the secret that
have no state yet are listed too when the secret can be read. Never prints tokens.`,
  optout: `usage: lcm optout <login_id | psid | asid> [--kind login|psid|asid] [--reason <text>] [target] [--json]

Opts a person out, as POST /optouts does: suppresses every identifier linked to the one given
(source api), so no queued or future message reaches them through any Page.

  --kind <kind>         what the id is; needed when it has no records yet
  --reason <text>       why (default requested_off_messenger)`,
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export const USAGE = `lcm: the operators' inspector for Login Connect with Messenger

usage: lcm <command> [options]

Commands:
  inspect <id>   a person's whole story, by login_id, PSID or ASID
  list           opt-ins, newest first (--status, --page, --since, --limit)
  stats          counts per status and Page, opt-in→send latency percentiles
  redrive        move dead-letter messages back to the send queue (--dry-run, --max)
  pages          each Page's health: paused or sending, last opt-in and send, subscription
  optout <id>    opt a person out, as POST /optouts does

${TARGET_USAGE}

Exit codes: 0 ok, 1 error, 2 usage. \`lcm help <command>\` (or \`lcm <command> --help\`) shows a
command's options; \`lcm --version\` the version. Progress goes to stderr; stdout carries only the
answer.`;

/** Where the records and queues are, as given on the command line. */
export interface TargetArgs {
  local: boolean;
  stack?: string;
  table?: string;
  queueUrl?: string;
  dlqUrl?: string;
  endpointUrl?: string;
  region?: string;
  /** The AWS profile for credentials and region (the SDK clients' `profile`). */
  profile?: string;
}

interface Common {
  target: TargetArgs;
  json: boolean;
}

export type Invocation =
  | { command: 'help'; text: string }
  | { command: 'version' }
  | (Common & { command: 'inspect'; id: string; kind?: PersonKind })
  | (Common & {
      command: 'list';
      status?: string;
      pageId?: string;
      sinceMs: number;
      limit: number;
    })
  | (Common & { command: 'stats'; sinceMs: number; pageId?: string })
  | (Common & { command: 'redrive'; dryRun: boolean; max?: number })
  | (Common & { command: 'pages' })
  | (Common & { command: 'optout'; id: string; kind?: PersonKind; reason?: string });

const TARGET_OPTIONS: OptionSpec = {
  local: { type: 'boolean' },
  stack: { type: 'string' },
  table: { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMAND_OPTIONS: Record<CommandName, OptionSpec> = {
  inspect: { kind: { type: 'string' } },
  list: {
    status: { type: 'string' },
    page: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
  },
  stats: { since: { type: 'string' }, page: { type: 'string' } },
  redrive: { 'dry-run': { type: 'boolean' }, max: { type: 'string' } },
  pages: {},
  optout: { kind: { type: 'string' }, reason: { type: 'string' } },
};

const KINDS: Record<string, PersonKind> = {
  login: 'login',
  login_id: 'login',
  psid: 'psid',
  asid: 'asid',
};

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMAND_USAGE, name);

function positiveInt(name: string, raw: string, max: number, usage: string): number {
  return wholeNumber(name, raw, { min: 1, max }, usage);
}

function since(raw: string | undefined, nowMs: number, usage: string): number {
  try {
    const sinceMs = parseSince(raw ?? '24h', nowMs);
    if (nowMs - sinceMs > MAX_SINCE_DAYS * DAY_MS)
      throw new UsageError(
        `--since reaches back more than ${MAX_SINCE_DAYS} days; opt-in records expire long before`,
      );
    return sinceMs;
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, usage);
    throw error;
  }
}

function kindOf(raw: string | undefined, usage: string): PersonKind | undefined {
  if (raw === undefined) return undefined;
  const kind = KINDS[raw.toLowerCase()];
  if (!kind) throw new UsageError(`--kind is one of login, psid, asid, got "${raw}"`, usage);
  return kind;
}

function nonEmpty(name: string, raw: string | undefined, usage: string): string | undefined {
  if (raw !== undefined && raw.trim() === '')
    throw new UsageError(`${name} must not be empty`, usage);
  return raw;
}

/**
 * Reads `lcm`'s command line. Returns what to do, or `help` with the text to print; throws
 * `UsageError` (exit code 2) with the command's usage when the line is wrong.
 */
export function parseCommandLine(argv: string[], nowMs: number): Invocation {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`, USAGE);
    return { command: 'version' };
  }
  if (first === undefined || first === '--help' || first === '-h')
    return { command: 'help', text: USAGE };
  if (first === 'help') {
    // `lcm help <command>` is `lcm <command> --help`.
    const [topic, ...extra] = rest;
    if (topic === undefined) return { command: 'help', text: USAGE };
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, USAGE);
    return parseCommandLine([topic, '--help'], nowMs);
  }
  const name = first;
  if (!isCommand(name)) {
    if (name.startsWith('-')) throw new UsageError(`give a command first, got "${name}"`, USAGE);
    const match = closest(name, Object.keys(COMMAND_USAGE));
    throw new UsageError(
      `unknown command "${name}"${match ? ` (did you mean ${match}?)` : ''}`,
      USAGE,
    );
  }
  const usage = COMMAND_USAGE[name];
  const parsed = parseOptions({
    argv: rest,
    options: { ...TARGET_OPTIONS, ...COMMAND_OPTIONS[name] },
    usage,
    allowPositionals: true,
  });
  const values = parsed.values;
  const str = (key: string) => nonEmpty(`--${key}`, values[key] as string | undefined, usage);
  if (values.help) return { command: 'help', text: `${usage}\n\n${TARGET_USAGE}` };

  if (values.local && values.stack !== undefined)
    throw new UsageError('give --local or --stack, not both', usage);
  const target: TargetArgs = {
    local: values.local === true,
    ...(str('stack') !== undefined ? { stack: str('stack') } : {}),
    ...(str('table') !== undefined ? { table: str('table') } : {}),
    ...(str('queue-url') !== undefined ? { queueUrl: str('queue-url') } : {}),
    ...(str('dlq-url') !== undefined ? { dlqUrl: str('dlq-url') } : {}),
    ...(str('endpoint-url') !== undefined ? { endpointUrl: str('endpoint-url') } : {}),
    ...(str('region') !== undefined ? { region: str('region') } : {}),
    ...(str('profile') !== undefined ? { profile: str('profile') } : {}),
  };
  const common: Common = { target, json: values.json === true };

  const takesId = name === 'inspect' || name === 'optout';
  const positionals = parsed.positionals;
  if (takesId && positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? 'give the login_id, PSID or ASID' : 'give one identifier only',
      usage,
    );
  if (!takesId && positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"`, usage);
  const id = positionals[0]?.trim() ?? '';
  if (takesId && id === '') throw new UsageError('the identifier must not be empty', usage);

  switch (name) {
    case 'inspect': {
      const kind = kindOf(str('kind'), usage);
      return { ...common, command: 'inspect', id, ...(kind ? { kind } : {}) };
    }
    case 'optout': {
      const kind = kindOf(str('kind'), usage);
      const reason = str('reason');
      if (reason !== undefined && reason.length > 500)
        throw new UsageError('--reason is at most 500 characters', usage);
      return {
        ...common,
        command: 'optout',
        id,
        ...(kind ? { kind } : {}),
        ...(reason !== undefined ? { reason } : {}),
      };
    }
    case 'list': {
      const status = str('status');
      if (status !== undefined && !(OPTIN_STATUSES as readonly string[]).includes(status))
        throw new UsageError(
          `--status is one of ${OPTIN_STATUSES.join(', ')}, got "${status}"`,
          usage,
        );
      const pageId = str('page');
      const limit = str('limit');
      return {
        ...common,
        command: 'list',
        ...(status !== undefined ? { status } : {}),
        ...(pageId !== undefined ? { pageId } : {}),
        sinceMs: since(str('since'), nowMs, usage),
        limit: limit === undefined ? 50 : positiveInt('--limit', limit, MAX_LIMIT, usage),
      };
    }
    case 'stats': {
      const pageId = str('page');
      return {
        ...common,
        command: 'stats',
        sinceMs: since(str('since'), nowMs, usage),
        ...(pageId !== undefined ? { pageId } : {}),
      };
    }
    case 'pages':
      return { ...common, command: 'pages' };
    case 'redrive': {
      const max = str('max');
      return {
        ...common,
        command: 'redrive',
        dryRun: values['dry-run'] === true,
        ...(max !== undefined
          ? { max: positiveInt('--max', max, Number.MAX_SAFE_INTEGER, usage) }
          : {}),
      };
    }
  }
}
