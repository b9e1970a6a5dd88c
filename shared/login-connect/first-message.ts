import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatIssues } from '../validation';

/**
 * First-message templates: one default and optional per-Page overrides, checked against the
 * Messenger limits so a bad template fails `cdk synth` instead of every send.
 * Lengths count Unicode code points, as Messenger does, not UTF-16 units.
 */

const chars = (s: string) => [...s].length;
const maxChars = (max: number) =>
  z.string().refine((s) => chars(s) <= max, { error: `must be at most ${max} characters` });

const QuickReplySchema = z
  .looseObject({
    content_type: z.enum(['text', 'user_phone_number', 'user_email']),
    title: maxChars(20).optional(),
    payload: z.union([maxChars(1000), z.number()]).optional(),
    image_url: z.url().optional(),
  })
  .superRefine((qr, ctx) => {
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
  });

const ButtonSchema = z
  .looseObject({
    type: z.string().min(1),
    title: maxChars(20).optional(),
    payload: maxChars(1000).optional(),
    url: z.url().optional(),
  })
  .superRefine((b, ctx) => {
    if (b.type === 'web_url' && b.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required for a web_url button' });
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
  });

const GenericElementSchema = z
  .looseObject({
    title: maxChars(80).min(1, { error: 'must not be empty' }),
    subtitle: maxChars(80).optional(),
    image_url: z.url().optional(),
    default_action: z.looseObject({ type: z.literal('web_url'), url: z.url() }).optional(),
    buttons: z.array(ButtonSchema).max(3, { error: 'must have at most 3 buttons' }).optional(),
  })
  .refine(
    (e) =>
      e.subtitle !== undefined ||
      e.image_url !== undefined ||
      e.default_action !== undefined ||
      (e.buttons?.length ?? 0) > 0,
    {
      error: 'needs at least one of subtitle, image_url, default_action or buttons besides title',
    },
  );

const TemplatePayloadSchema = z.discriminatedUnion('template_type', [
  z.looseObject({
    template_type: z.literal('generic'),
    elements: z
      .array(GenericElementSchema)
      .min(1, { error: 'must have at least 1 element' })
      .max(10, { error: 'must have at most 10 elements' }),
  }),
  z.looseObject({
    template_type: z.literal('button'),
    text: maxChars(640).min(1, { error: 'must not be empty' }),
    buttons: z
      .array(ButtonSchema)
      .min(1, { error: 'must have at least 1 button' })
      .max(3, { error: 'must have at most 3 buttons' }),
  }),
  z.looseObject({
    template_type: z.literal('media'),
    elements: z.array(z.looseObject({})).length(1),
  }),
]);

const AttachmentSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('template'), payload: TemplatePayloadSchema }),
  z.strictObject({
    type: z.enum(['image', 'audio', 'video', 'file']),
    payload: z
      .looseObject({
        url: z.url().optional(),
        attachment_id: z.string().optional(),
        is_reusable: z.boolean().optional(),
      })
      .refine((p) => (p.url === undefined) !== (p.attachment_id === undefined), {
        error: 'needs exactly one of url or attachment_id',
      }),
  }),
]);

export const MessageSchema = z
  .strictObject({
    text: maxChars(2000).min(1, { error: 'must not be empty' }).optional(),
    attachment: AttachmentSchema.optional(),
    quick_replies: z
      .array(QuickReplySchema)
      .max(13, { error: 'must have at most 13 quick replies' })
      .optional(),
    metadata: maxChars(1000).optional(),
  })
  .refine((m) => (m.text === undefined) !== (m.attachment === undefined), {
    error: 'needs exactly one of text or attachment',
  });

export type MessengerMessage = z.infer<typeof MessageSchema>;

export const FirstMessageTemplateSchema = z.strictObject({
  message: MessageSchema,
  messagingType: z
    .string()
    .refine((t) => t !== 'MESSAGE_TAG', {
      error: 'MESSAGE_TAG is not allowed: Login Connect forbids Message Tags on the first message',
    })
    .pipe(z.enum(['UPDATE', 'RESPONSE'], { error: 'must be UPDATE or RESPONSE' }))
    .default('UPDATE'),
  notificationType: z.enum(['REGULAR', 'SILENT_PUSH', 'NO_PUSH']).optional(),
  tag: z
    .unknown()
    .refine(() => false, {
      error: 'is not allowed: Login Connect forbids Message Tags on the first message',
    })
    .optional(),
});

export type FirstMessageTemplate = z.infer<typeof FirstMessageTemplateSchema>;

export const FirstMessagesSchema = z.strictObject({
  default: FirstMessageTemplateSchema,
  pages: z
    .record(
      z.string().regex(/^\d+$/, { error: 'Page ids are numeric strings' }),
      FirstMessageTemplateSchema,
    )
    .default({}),
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
