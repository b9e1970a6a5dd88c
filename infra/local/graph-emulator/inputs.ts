/** Validation of what the control API (and the in-process accessors) take. */
import { z } from 'zod';
import { formatIssues } from '../../../shared/validation';
import { DEFAULT_PERMISSIONS } from './constants';
import { EmulatorInputError } from './types';

/** A Page or user id: a non-empty string, or a positive integer taken as its digits. */
export const PageIdSchema = z.union([z.string().min(1), z.int().positive().transform(String)]);

export const OptinInputSchema = z.strictObject({
  loginId: z.string().min(1),
  pageId: PageIdSchema,
  timestamp: z.int().nonnegative().optional(),
});

const PsidSchema = z.union([
  z.string().regex(/^\d+$/, 'must be a string of digits'),
  z.int().positive().transform(String),
]);

export const OptoutInputSchema = z
  .strictObject({
    loginId: z.string().min(1).optional(),
    psid: PsidSchema.optional(),
    pageId: PageIdSchema.optional(),
  })
  .refine((o) => (o.loginId === undefined) !== (o.psid === undefined), {
    message: 'needs exactly one of loginId, psid',
  });

export const UserMessageInputSchema = z.strictObject({
  psid: PsidSchema,
  pageId: PageIdSchema,
  timestamp: z.int().nonnegative().optional(),
});

const UsageNumbersSchema = z.strictObject({
  type: z.string().min(1).max(64).optional(),
  call_count: z.number().min(0).optional(),
  total_cputime: z.number().min(0).optional(),
  total_time: z.number().min(0).optional(),
  estimated_time_to_regain_access: z.number().min(0).optional(),
});
export const UsageInputSchema = z
  .strictObject({
    pageId: PageIdSchema.optional(),
    app: UsageNumbersSchema.optional(),
    business: UsageNumbersSchema.optional(),
  })
  .refine((u) => u.business === undefined || u.pageId !== undefined, {
    message: 'business needs pageId',
  });
export const RestrictionInputSchema = z.strictObject({
  pageId: PageIdSchema,
  untilMs: z.int().nonnegative().optional(),
});
export const PageOnlySchema = z.strictObject({ pageId: PageIdSchema });
export const SubscriptionInputSchema = z.strictObject({
  pageId: PageIdSchema,
  fields: z.array(z.string().min(1)).optional(),
  refuseSubscribe: z.boolean().optional(),
});
export const DropInputSchema = z.strictObject({
  pageId: PageIdSchema,
  refuseSubscribe: z.boolean().optional(),
});

export const PermissionsInputSchema = z.strictObject({
  userId: PageIdSchema,
  granted: z.array(z.string().min(1)).default(DEFAULT_PERMISSIONS),
  declined: z.array(z.string().min(1)).default([]),
});

export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new EmulatorInputError(`Invalid ${what}:\n${formatIssues(what, result.error.issues)}`);
  }
  return result.data;
}
