import { z } from 'zod';
import { conversations, type MessagePart, messages } from '../schema/chat.ts';
import { jsonObjectSchema, jsonValueSchema } from './agents.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { checkEmbeddingFields, embeddingRefinements } from './embeddings.ts';
import { createInsertSchema, createUpdateSchema, rule, withRules } from './storable.ts';

// Shapes of the JSON columns; the tables' `$type<T>()` say the same in TypeScript.
export const conversationMetadataSchema = z
  .object({
    tags: z.array(z.string().min(1).max(50)).max(50).optional(),
    pinned: z.boolean().optional(),
    source: z.string().min(1).max(50).optional(),
    locale: z.string().min(2).max(35).optional(),
  })
  .strict();

/** One part of a message's content, discriminated by `type` (the database checks the same four). */
export const messagePartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }).strict(),
  z
    .object({
      type: z.literal('tool_call'),
      toolCallId: z.string().min(1),
      toolName: z.string().min(1),
      input: jsonObjectSchema,
    })
    .strict(),
  z
    .object({
      type: z.literal('tool_result'),
      toolCallId: z.string().min(1),
      toolName: z.string().min(1),
      output: jsonValueSchema,
      isError: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      uri: z.string().min(1),
      mediaType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'a media type such as `image/png`'),
      name: z.string().min(1).optional(),
      sizeBytes: z.int().min(0).optional(),
    })
    .strict(),
]) satisfies z.ZodType<MessagePart>;

export const messageContentSchema = z.array(messagePartSchema).min(1, 'a message has at least one part');

/** Tool calls come from the assistant, tool results in `tool` messages, as model APIs expect. */
export function partsFitRole(role: string, content: MessagePart[]): boolean {
  return (
    !Array.isArray(content) ||
    content.every(
      (part) =>
        (part.type !== 'tool_call' || role === 'assistant') &&
        (part.type !== 'tool_result' || role === 'tool'),
    )
  );
}

const conversationRefinements = {
  title: (s: z.ZodString) => s.trim().min(1).max(500),
  metadata: () => conversationMetadataSchema,
};
export const selectConversationSchema = createSelectSchema(conversations, {
  metadata: () => conversationMetadataSchema,
});
export const insertConversationSchema = createInsertSchema(conversations, conversationRefinements);
export const updateConversationSchema = createUpdateSchema(conversations, conversationRefinements);

const messageRefinements = {
  ...embeddingRefinements,
  content: () => messageContentSchema,
  tokens: (s: z.ZodInt) => s.min(0),
  model: (s: z.ZodString) => s.min(1).max(200),
};
export const selectMessageSchema = createSelectSchema(messages, { content: () => messageContentSchema });
/** The insert shape without the role/parts rule, to pick API inputs from. */
export const insertMessageBaseSchema = createInsertSchema(messages, messageRefinements);
type Message = typeof messages.$inferSelect;
const messageRules = [
  rule<Message>(
    ['role', 'content'],
    (v) => !v.role || !v.content || partsFitRole(v.role, v.content),
    'tool_call parts belong in assistant messages, tool_result parts in tool messages',
  ),
  rule<Message>(
    ['id', 'parentMessageId'],
    (v) => v.parentMessageId == null || v.parentMessageId !== v.id,
    'a message is not its own parent',
  ),
];
export const insertMessageSchema = withRules(insertMessageBaseSchema, messageRules, 'insert').superRefine(
  checkEmbeddingFields,
);
export const updateMessageSchema = withRules(
  createUpdateSchema(messages, messageRefinements),
  messageRules,
  'update',
).superRefine(checkEmbeddingFields);
