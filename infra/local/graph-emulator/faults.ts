/** Faults: what a queued fault or the flaky setting answers instead of processing a send. */
import { z } from 'zod';
import { PageIdSchema } from './inputs';
import { type ErrorFields, REFUSE, SERVER_ERROR } from './refusals';

export const FAULT_KINDS = [
  'server_error',
  'rate_limit',
  'unavailable',
  'window_closed',
  'token_invalid',
  'page_restricted',
  'page_rate_limit',
  'slow',
  'hang',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** What a fault does, whether queued or drawn by the flaky setting. */
export const FAULT_EFFECT = {
  kind: z.enum(FAULT_KINDS).optional(),
  status: z.int().min(200).max(599).optional(),
  error: z
    .strictObject({
      code: z.int(),
      subcode: z.int().optional(),
      message: z.string().optional(),
      type: z.string().optional(),
    })
    .optional(),
  delayMs: z.int().min(0).max(600_000).optional(),
  body: z.unknown().optional(),
  deliverOnAbort: z.boolean().optional(),
};

export const FaultInputSchema = z.strictObject({
  ...FAULT_EFFECT,
  loginId: z.string().min(1).optional(),
  pageId: PageIdSchema.optional(),
  times: z.int().positive().default(1),
});

export type FaultInput = z.input<typeof FaultInputSchema>;

export const FlakyInputSchema = z.strictObject({
  rate: z.number().min(0).max(1),
  faults: z
    .array(z.strictObject({ ...FAULT_EFFECT, weight: z.number().positive().default(1) }))
    .min(1)
    .optional(),
  seed: z.int().optional(),
});

export type FlakyInput = z.input<typeof FlakyInputSchema>;

/** The flaky setting, as `GET /_emulator/state` shows it. */
export interface Flaky {
  rate: number;
  faults: Array<Omit<Fault, 'id' | 'loginId' | 'pageId' | 'remaining'> & { weight: number }>;
  seed: number;
}

/** The flaky Graph: 500 code 1 or 2, 613, or no answer for 25 s, equally likely. */
export const DEFAULT_FLAKY_FAULTS: FlakyInput['faults'] = [
  { kind: 'server_error', error: { code: 1 } },
  { kind: 'server_error' },
  { kind: 'rate_limit' },
  { kind: 'hang' },
];

/** A queued fault, as `GET /_emulator/state` shows it. */
export interface Fault {
  id: number;
  kind?: FaultKind;
  loginId?: string;
  pageId?: string;
  /** How many more matching requests it applies to. */
  remaining: number;
  delayMs: number;
  deliverOnAbort: boolean;
  /** What is answered instead of processing; absent for a pure delay. */
  reply?: { status: number; error?: ErrorFields; body?: unknown };
}

/** A fault's own error over its preset's: same code inherits the preset's wording and subcode. */
function mergeError(
  base: ErrorFields,
  given: {
    code: number;
    subcode?: number | undefined;
    message?: string | undefined;
    type?: string | undefined;
  },
): ErrorFields {
  const same = given.code === base.code;
  const subcode = given.subcode ?? (same ? base.error_subcode : undefined);
  return {
    code: given.code,
    type: given.type ?? (same ? base.type : 'OAuthException'),
    message: given.message ?? (same ? base.message : `(#${given.code}) Emulated error`),
    ...(subcode !== undefined ? { error_subcode: subcode } : {}),
  };
}

const PRESETS: Record<FaultKind, { status?: number; error?: ErrorFields; delayMs?: number }> = {
  server_error: { status: 500, error: SERVER_ERROR },
  rate_limit: {
    status: 400,
    error: {
      code: 613,
      type: 'OAuthException',
      message: '(#613) Calls to this API have exceeded the rate limit.',
    },
  },
  unavailable: { status: 400, error: REFUSE.unavailable().error },
  window_closed: { status: 400, error: REFUSE.window().error },
  token_invalid: {
    status: 400,
    error: {
      code: 190,
      error_subcode: 460,
      type: 'OAuthException',
      message:
        'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
    },
  },
  page_restricted: { status: 400, error: REFUSE.restricted().error },
  page_rate_limit: {
    status: 400,
    error: {
      code: 80001,
      type: 'OAuthException',
      message:
        '(#80001) There have been too many calls to this Page account. Wait a bit and try again.',
    },
  },
  slow: { delayMs: 5000 },
  hang: { delayMs: 25_000, status: 500, error: SERVER_ERROR },
};

/** The effect of a fault's fields: a delay, and what is answered instead of processing. */
export function faultEffect(
  f: z.output<z.ZodObject<typeof FAULT_EFFECT>>,
): Pick<Fault, 'kind' | 'delayMs' | 'deliverOnAbort' | 'reply'> {
  const preset = f.kind ? PRESETS[f.kind] : {};
  const delayMs = f.delayMs ?? preset.delayMs ?? 0;
  // A pure delay (kind `slow`, or `delayMs` alone) processes normally afterwards; anything
  // else answers instead, a server_error unless told otherwise.
  const passThrough =
    f.status === undefined &&
    f.error === undefined &&
    f.body === undefined &&
    preset.error === undefined &&
    (f.kind !== undefined || f.delayMs !== undefined);
  let reply: Fault['reply'];
  if (!passThrough) {
    const base = preset.error ?? SERVER_ERROR;
    let error: ErrorFields | undefined;
    if (f.body === undefined) error = f.error ? mergeError(base, f.error) : base;
    const status =
      f.status ?? preset.status ?? (!error || error.code === 1 || error.code === 2 ? 500 : 400);
    reply = {
      status,
      ...(error ? { error } : {}),
      ...(f.body !== undefined ? { body: f.body } : {}),
    };
  }
  return {
    ...(f.kind ? { kind: f.kind } : {}),
    delayMs,
    deliverOnAbort: f.deliverOnAbort ?? false,
    ...(reply ? { reply } : {}),
  };
}

/** mulberry32: a small seeded generator, so a flaky run can be repeated draw for draw. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** With the flaky setting's probability, one of its faults, drawn by weight. */
export function drawFault(
  setting: Flaky,
  random: () => number,
): Pick<Fault, 'delayMs' | 'deliverOnAbort' | 'reply'> | undefined {
  if (random() >= setting.rate) return undefined;
  const total = setting.faults.reduce((sum, f) => sum + f.weight, 0);
  let pick = random() * total;
  for (const fault of setting.faults) {
    pick -= fault.weight;
    if (pick < 0) return fault;
  }
  return setting.faults.at(-1);
}

/** The first pending fault matching this request, consumed by one (removed when used up). */
export function takeFault(
  faults: Fault[],
  pageId: string,
  loginId: string | undefined,
): Fault | undefined {
  const index = faults.findIndex(
    (f) =>
      (f.pageId === undefined || f.pageId === pageId) &&
      (f.loginId === undefined || f.loginId === loginId),
  );
  const fault = faults[index];
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining <= 0) faults.splice(index, 1);
  return structuredClone(fault);
}
