import { readFileSync } from 'node:fs';
import { formatIssues } from '../validation';
import * as z from '../zod';

/**
 * First-message templates: one default and optional per-Page overrides, checked against the
 * Messenger limits so a bad template fails `cdk synth` instead of every send.
 * Lengths count Unicode code points, as Messenger does, not UTF-16 units.
 * The sender parses them at cold start and the API checks follow-ups with `MessageSchema`, so
 * they use `zod/mini` (README, "The webhook and the bundles").
 */

const chars = (s: string) => [...s].length;
const atMostChars = (max: number) =>
  z.refine<string>((s) => chars(s) <= max, { error: `must be at most ${max} characters` });
const maxChars = (max: number) => z.string().check(atMostChars(max));
/** At most `max` characters and not empty (checked in that order). */
const filledMaxChars = (max: number) =>
  z.string().check(atMostChars(max), z.minLength(1, { error: 'must not be empty' }));

const QuickReplySchema = z
  .looseObject({
    content_type: z.enum(['text', 'user_phone_number', 'user_email']),
    title: z.optional(maxChars(20)),
    payload: z.optional(z.union([maxChars(1000), z.number()])),
    image_url: z.optional(z.url()),
  })
  .check(
    z.superRefine((qr, ctx) => {
      if (qr.content_type !== 'text') return;
      if (qr.payload === undefined || qr.payload === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['payload'],
          message: 'is required for a text quick reply',
        });
      }
      if ((qr.title === undefined || qr.title === '') && qr.image_url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['title'],
          message: 'is required when there is no image_url',
        });
      }
    }),
  );

const ButtonSchema = z
  .looseObject({
    type: z.string().check(z.minLength(1)),
    title: z.optional(maxChars(20)),
    payload: z.optional(maxChars(1000)),
    url: z.optional(z.url()),
  })
  .check(
    z.superRefine((b, ctx) => {
      if (b.type === 'web_url' && b.url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: 'is required for a web_url button',
        });
      }
      if (b.type === 'postback' && (b.payload === undefined || b.payload === '')) {
        ctx.addIssue({
          code: 'custom',
          path: ['payload'],
          message: 'is required for a postback button',
        });
      }
      if (['web_url', 'postback', 'phone_number'].includes(b.type) && !b.title) {
        ctx.addIssue({
          code: 'custom',
          path: ['title'],
          message: `is required for a ${b.type} button`,
        });
      }
    }),
  );

const GenericElementSchema = z
  .looseObject({
    title: filledMaxChars(80),
    subtitle: z.optional(maxChars(80)),
    image_url: z.optional(z.url()),
    default_action: z.optional(z.looseObject({ type: z.literal('web_url'), url: z.url() })),
    buttons: z.optional(
      z.array(ButtonSchema).check(z.maxLength(3, { error: 'must have at most 3 buttons' })),
    ),
  })
  .check(
    z.refine(
      (e) =>
        e.subtitle !== undefined ||
        e.image_url !== undefined ||
        e.default_action !== undefined ||
        (e.buttons?.length ?? 0) > 0,
      {
        error: 'needs at least one of subtitle, image_url, default_action or buttons besides title',
      },
    ),
  );

const TemplatePayloadSchema = z.discriminatedUnion('template_type', [
  z.looseObject({
    template_type: z.literal('generic'),
    elements: z
      .array(GenericElementSchema)
      .check(
        z.minLength(1, { error: 'must have at least 1 element' }),
        z.maxLength(10, { error: 'must have at most 10 elements' }),
      ),
  }),
  z.looseObject({
    template_type: z.literal('button'),
    text: filledMaxChars(640),
    buttons: z
      .array(ButtonSchema)
      .check(
        z.minLength(1, { error: 'must have at least 1 button' }),
        z.maxLength(3, { error: 'must have at most 3 buttons' }),
      ),
  }),
  z.looseObject({
    template_type: z.literal('media'),
    elements: z.array(z.looseObject({})).check(z.length(1)),
  }),
]);

const AttachmentSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('template'), payload: TemplatePayloadSchema }),
  z.strictObject({
    type: z.enum(['image', 'audio', 'video', 'file']),
    payload: z
      .looseObject({
        url: z.optional(z.url()),
        attachment_id: z.optional(z.string()),
        is_reusable: z.optional(z.boolean()),
      })
      .check(
        z.refine((p) => (p.url === undefined) !== (p.attachment_id === undefined), {
          error: 'needs exactly one of url or attachment_id',
        }),
      ),
  }),
]);

export const MessageSchema = z
  .strictObject({
    text: z.optional(filledMaxChars(2000)),
    attachment: z.optional(AttachmentSchema),
    quick_replies: z.optional(
      z
        .array(QuickReplySchema)
        .check(z.maxLength(13, { error: 'must have at most 13 quick replies' })),
    ),
    metadata: z.optional(maxChars(1000)),
  })
  .check(
    z.refine((m) => (m.text === undefined) !== (m.attachment === undefined), {
      error: 'needs exactly one of text or attachment',
    }),
  );

export type MessengerMessage = z.infer<typeof MessageSchema>;

export const FirstMessageTemplateSchema = z.strictObject({
  message: MessageSchema,
  messagingType: z._default(
    z.pipe(
      z.string().check(
        z.refine((t) => t !== 'MESSAGE_TAG', {
          error:
            'MESSAGE_TAG is not allowed: Login Connect forbids Message Tags on the first message',
        }),
      ),
      z.enum(['UPDATE', 'RESPONSE'], { error: 'must be UPDATE or RESPONSE' }),
    ),
    'UPDATE',
  ),
  notificationType: z.optional(z.enum(['REGULAR', 'SILENT_PUSH', 'NO_PUSH'])),
  tag: z.optional(
    z.unknown().check(
      z.refine(() => false, {
        error: 'is not allowed: Login Connect forbids Message Tags on the first message',
      }),
    ),
  ),
});

export type FirstMessageTemplate = z.infer<typeof FirstMessageTemplateSchema>;

export const FirstMessagesSchema = z.strictObject({
  default: FirstMessageTemplateSchema,
  pages: z._default(
    z.record(
      z.string().check(z.regex(/^\d+$/, { error: 'Page ids are numeric strings' })),
      FirstMessageTemplateSchema,
    ),
    {},
  ),
});

export type FirstMessages = z.infer<typeof FirstMessagesSchema>;

/** Validates templates; throws one error that names every bad field under `prefix`. */
export function parseFirstMessages(input: unknown, prefix = 'firstMessages'): FirstMessages {
  const result = FirstMessagesSchema.safeParse(input);
  if (!result.success) {
    throw new Error(
      `Invalid first-message templates:\n${formatIssues(prefix, result.error.issues)}`,
    );
  }
  return result.data;
}

/** Reads and validates a templates file; errors name the file and the field. */
export function readFirstMessagesFile(path: string): FirstMessages {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `Cannot read first-message templates from ${path}: ${(error as Error).message}`,
    );
  }
  try {
    return parseFirstMessages(raw);
  } catch (error) {
    throw new Error(`${(error as Error).message.replace('templates:', `templates in ${path}:`)}`);
  }
}

/** The template for a Page: its override if there is one, else the default. */
export function templateFor(messages: FirstMessages, pageId: string): FirstMessageTemplate {
  return messages.pages[pageId] ?? messages.default;
}
