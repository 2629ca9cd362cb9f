import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, jsonb, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JsonObject, JsonValue } from './agents.ts';
import { timestamps } from './columns.ts';
import { embeddingColumns, embeddingConstraints } from './embeddings.ts';
import { conversationKind, conversationStatus, messageRole } from './enums.ts';
import { users } from './identity.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

/** Free-form labels of a conversation; validated by `conversationMetadataSchema`. */
export type ConversationMetadata = {
  tags?: string[];
  pinned?: boolean;
  /** Where the conversation started (`web`, `slack`, `api`...). */
  source?: string;
  locale?: string;
};

export const conversations = tenantTable(
  'conversations',
  {
    kind: conversationKind('kind').notNull().default('chat'),
    title: text('title'),
    /**
     * Optional. Composite FK `-> brands` (NO ACTION) in the `shard_safe_guards` migration; `deleteBrand`
     * clears it first.
     */
    brandId: uuid('brand_id'),
    /** Optional. Composite FK `-> agents` (NO ACTION) in the `shard_safe_guards` migration; `deleteAgent` clears it first. */
    agentId: uuid('agent_id'),
    createdByUserId: uuid('created_by_user_id'),
    status: conversationStatus('status').notNull().default('active'),
    /**
     * Time of the newest message (of creation while empty). Moved by `appendMessage` with
     * GREATEST, so an out-of-order append never moves it back.
     */
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }).notNull().defaultNow(),
    metadata: jsonb('metadata').$type<ConversationMetadata>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'conversations_created_by_user_id_fkey',
      columns: [t.createdByUserId],
      foreignColumns: [users.id],
    }).onDelete('set null'),
    // A user's conversations by last activity (listUserConversations, keyset on (last_message_at, id),
    // read backwards for newest first); also serves the users FK.
    index('conversations_created_by_user_id_last_message_at_idx').on(
      t.createdByUserId,
      t.organizationId,
      t.lastMessageAt,
      t.id,
    ),
    index('conversations_brand_id_idx').on(t.brandId, t.organizationId),
    index('conversations_agent_id_idx').on(t.agentId, t.organizationId),
    check('conversations_title_check', sql`${t.title} is null or length(${t.title}) between 1 and 500`),
  ],
);

export type Conversation = typeof conversations.$inferSelect;
export type NewConversation = typeof conversations.$inferInsert;

export type TextPart = { type: 'text'; text: string };
export type ToolCallPart = { type: 'tool_call'; toolCallId: string; toolName: string; input: JsonObject };
export type ToolResultPart = {
  type: 'tool_result';
  toolCallId: string;
  toolName: string;
  output: JsonValue;
  isError?: boolean;
};
/** A file the message refers to (stored elsewhere: object storage, a dataset document). */
export type FilePart = { type: 'file'; uri: string; mediaType: string; name?: string; sizeBytes?: number };
/** One part of a message's content; `type` tells which. */
export type MessagePart = TextPart | ToolCallPart | ToolResultPart | FilePart;

export const messagePartTypes = ['text', 'tool_call', 'tool_result', 'file'] as const;

export const messages = tenantTable(
  'messages',
  {
    conversationId: uuid('conversation_id').notNull(),
    role: messageRole('role').notNull(),
    /** Typed parts (text, tool call, tool result, file reference); see `messagePartSchema`. */
    content: jsonb('content').$type<MessagePart[]>().notNull(),
    /** The content's plain text (text parts, tool names), for search and embeddings. */
    text: text('text').notNull().default(''),
    tokens: integer('tokens'),
    model: text('model'),
    /**
     * The agent run that produced the message. Composite FK `-> agent_runs` (NO ACTION) in the
     * `shard_safe_guards` migration; `deleteAgent`/`deleteAgentRun` clear it: the message outlives its telemetry.
     */
    runId: uuid('run_id'),
    /** The message this one answers or replaces, for branches (regenerate, edit-and-resend). */
    parentMessageId: uuid('parent_message_id'),
    /** Embedding of `text` in a space, for "similar past messages". */
    ...embeddingColumns(),
    /**
     * `clock_timestamp()`, not `now()`: messages appended in one transaction keep their order, and
     * (created_at, id) is the timeline's keyset.
     */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
  },
  (t) => [
    foreignKey({
      name: 'messages_conversation_id_fkey',
      columns: [t.organizationId, t.conversationId],
      foreignColumns: [conversations.organizationId, conversations.id],
    }).onDelete('cascade'),
    // A conversation's timeline newest first, keyset on (created_at, id), and the last N messages
    // of a context window (listMessages, contextWindow); also serves the conversation FK.
    index('messages_conversation_id_created_at_idx').on(
      t.conversationId,
      t.organizationId,
      t.createdAt,
      t.id,
    ),
    index('messages_run_id_idx').on(t.runId, t.organizationId),
    ...tenantReference('messages', t, t.parentMessageId, t),
    ...embeddingConstraints('messages', t),
    check(
      'messages_content_check',
      sql`jsonb_typeof(${t.content}) = 'array' and jsonb_array_length(${t.content}) >= 1 and not jsonb_path_exists(${t.content}, '$[*] ? (!(@.type == "text" || @.type == "tool_call" || @.type == "tool_result" || @.type == "file"))')`,
    ),
    check('messages_tokens_check', sql`${t.tokens} is null or ${t.tokens} >= 0`),
    check('messages_parent_message_id_check', sql`${t.parentMessageId} <> ${t.id}`),
  ],
);

export type Message = typeof messages.$inferSelect;
export type NewMessage = typeof messages.$inferInsert;
