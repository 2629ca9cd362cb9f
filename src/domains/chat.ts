import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import { z } from 'zod';
import { guarded, InputError, parseInput } from '../base/input.ts';
import { atMicros, type Cursor, keysetBefore, microsOf, pageOf } from '../base/keyset.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { resolveQueryVector } from '../rag/search-input.ts';
import { type NearestPlan, nearestSql, planNearest, runNearest } from '../rag/vector-query.ts';
import {
  type Conversation,
  conversations,
  type Message,
  type MessagePart,
  messages,
} from '../schema/index.ts';
import { insertConversationSchema, insertMessageBaseSchema, partsFitRole } from '../validators/chat.ts';

/** A message as lists return it: never its embedding. */
export type MessageView = Omit<Message, 'embedding'>;

const { embedding: _embedding, ...messageViewColumns } = getTableColumns(messages);

const createConversationInputSchema = insertConversationSchema
  .pick({
    kind: true,
    title: true,
    brandId: true,
    agentId: true,
    createdByUserId: true,
    metadata: true,
  })
  .partial();
export type CreateConversationInput = z.input<typeof createConversationInputSchema>;

/** Starts a conversation in the current tenant (call inside `withTenant`). */
export async function createConversation(
  tx: Transaction,
  input: CreateConversationInput,
): Promise<Conversation> {
  const values = parseInput(createConversationInputSchema, input, 'conversations');
  const org = currentTenant(tx);
  const [row] = await guarded(() =>
    tx
      .insert(conversations)
      .values({ ...values, organizationId: org })
      .returning(),
  );
  if (!row) throw new Error('conversation insert returned no row');
  return row;
}

const appendMessageInputSchema = insertMessageBaseSchema
  .pick({
    conversationId: true,
    role: true,
    content: true,
    tokens: true,
    model: true,
    runId: true,
    parentMessageId: true,
    createdAt: true,
  })
  .partial({ tokens: true, model: true, runId: true, parentMessageId: true, createdAt: true })
  .extend({
    /** The message's embedding in a space, when the caller has one already. */
    embedding: z.object({ spaceId: z.uuid(), vector: z.array(z.number()).min(1) }).optional(),
  })
  .refine((message) => partsFitRole(message.role, message.content), {
    message: 'tool_call parts belong in assistant messages, tool_result parts in tool messages',
    path: ['content'],
  });
export type AppendMessageInput = z.input<typeof appendMessageInputSchema>;

/** The plain text of a message's parts, stored beside them for search and embedding. */
export function messagePlainText(parts: MessagePart[]): string {
  return parts
    .map(partText)
    .filter((text) => text.length > 0)
    .join('\n');
}

function partText(part: MessagePart): string {
  if (part.type === 'text') return part.text;
  if (part.type === 'tool_call') return `[${part.toolName}]`;
  if (part.type === 'tool_result')
    return typeof part.output === 'string' ? part.output : `[${part.toolName} result]`;
  return part.name ?? part.uri;
}

/**
 * Appends a message and moves its conversation's `last_message_at` in the same transaction, with
 * GREATEST so an out-of-order append (an import, a late tool result) never moves it back. A branch
 * parent must belong to the same conversation.
 */
export async function appendMessage(tx: Transaction, input: AppendMessageInput): Promise<MessageView> {
  const { embedding, ...values } = parseInput(appendMessageInputSchema, input, 'messages');
  const org = currentTenant(tx);
  return guarded(async () => {
    if (values.parentMessageId) {
      const [parent] = await tx
        .select({ conversationId: messages.conversationId })
        .from(messages)
        .where(and(eq(messages.organizationId, org), eq(messages.id, values.parentMessageId)));
      if (parent?.conversationId !== values.conversationId) {
        throw new InputError('messages', [
          {
            column: 'parent_message_id',
            path: ['parentMessageId'],
            message: 'must name a message of the same conversation',
          },
        ]);
      }
    }
    const [inserted] = await tx
      .insert(messages)
      .values({
        ...values,
        organizationId: org,
        text: messagePlainText(values.content),
        ...(embedding && {
          embeddingSpaceId: embedding.spaceId,
          embeddingDimensions: embedding.vector.length,
          embedding: embedding.vector,
        }),
      })
      .returning({ ...messageViewColumns, createdMicros: microsOf(messages.createdAt) });
    if (!inserted) throw new Error('message insert returned no row');
    const { createdMicros, ...row } = inserted;
    // The stored time to the microsecond (a JS Date would round it to milliseconds), as a parameter:
    // a statement on the conversation's own row alone, which Citus routes to one shard.
    await tx
      .update(conversations)
      .set({ lastMessageAt: sql`greatest(${conversations.lastMessageAt}, ${atMicros(createdMicros)})` })
      .where(and(eq(conversations.organizationId, org), eq(conversations.id, row.conversationId)));
    return row;
  });
}

/** Stores (or replaces) a message's embedding; a vector whose length is not its space's is refused. */
export async function setMessageEmbedding(
  tx: Transaction,
  messageId: string,
  embedding: { spaceId: string; vector: number[] },
): Promise<void> {
  assertUuid(messageId, 'messageId');
  assertUuid(embedding.spaceId, 'spaceId');
  const org = currentTenant(tx);
  const updated = await guarded(() =>
    tx
      .update(messages)
      .set({
        embeddingSpaceId: embedding.spaceId,
        embeddingDimensions: embedding.vector.length,
        embedding: embedding.vector,
      })
      .where(and(eq(messages.organizationId, org), eq(messages.id, messageId)))
      .returning({ id: messages.id }),
  );
  if (updated.length === 0) {
    throw new InputError('messages', [
      { column: 'id', path: ['messageId'], message: 'not found in this organization' },
    ]);
  }
}

export interface PageOptions {
  /** Rows per page (1-500, default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  before?: Cursor;
}

const limitOf = (limit: number | undefined, fallback = 50) =>
  parseInput(z.int().min(1).max(500), limit ?? fallback, 'limit');

/**
 * The statement behind `listMessages`: a conversation's messages newest first from a keyset
 * position, served by `messages_conversation_id_created_at_idx` (exported so its plan can be checked).
 */
export function messageTimelineQuery(tx: Transaction, conversationId: string, options: PageOptions = {}) {
  assertUuid(conversationId, 'conversationId');
  return tx
    .select({ ...messageViewColumns, cursorMicros: microsOf(messages.createdAt) })
    .from(messages)
    .where(
      and(
        eq(messages.organizationId, currentTenant(tx)),
        eq(messages.conversationId, conversationId),
        options.before
          ? keysetBefore(messages.createdAt, messages.id, options.before, 'messages')
          : undefined,
      ),
    )
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limitOf(options.limit) + 1);
}

/**
 * A page of a conversation's timeline, newest first. Keyset-paginated on (created_at, id): pages
 * stay stable while new messages arrive, and a page deep in a long conversation costs what page 1 does.
 */
export async function listMessages(
  tx: Transaction,
  conversationId: string,
  options: PageOptions = {},
): Promise<{ messages: MessageView[]; nextCursor: Cursor | null }> {
  const rows = await guarded(() => messageTimelineQuery(tx, conversationId, options));
  const page = pageOf(rows, limitOf(options.limit));
  return { messages: page.rows, nextCursor: page.nextCursor };
}

/** The last `count` messages of a conversation, oldest first: what goes into a model's context window. */
export async function contextWindow(
  tx: Transaction,
  conversationId: string,
  count = 20,
): Promise<MessageView[]> {
  const rows = await guarded(() => messageTimelineQuery(tx, conversationId, { limit: count }));
  return pageOf(rows, limitOf(count)).rows.reverse();
}

/**
 * The statement behind `listUserConversations`, served by
 * `conversations_created_by_user_id_last_message_at_idx`.
 */
export function userConversationsQuery(tx: Transaction, userId: string, options: PageOptions = {}) {
  assertUuid(userId, 'userId');
  return tx
    .select({ ...getTableColumns(conversations), cursorMicros: microsOf(conversations.lastMessageAt) })
    .from(conversations)
    .where(
      and(
        eq(conversations.organizationId, currentTenant(tx)),
        eq(conversations.createdByUserId, userId),
        options.before
          ? keysetBefore(conversations.lastMessageAt, conversations.id, options.before, 'conversations')
          : undefined,
      ),
    )
    .orderBy(desc(conversations.lastMessageAt), desc(conversations.id))
    .limit(limitOf(options.limit) + 1);
}

/** A user's conversations in the current tenant, most recently active first, keyset-paginated. */
export async function listUserConversations(
  tx: Transaction,
  userId: string,
  options: PageOptions = {},
): Promise<{ conversations: Conversation[]; nextCursor: Cursor | null }> {
  const rows = await guarded(() => userConversationsQuery(tx, userId, options));
  const page = pageOf(rows, limitOf(options.limit));
  return { conversations: page.rows, nextCursor: page.nextCursor };
}

export interface SimilarMessagesQuery {
  spaceId: string;
  /** The query vector, in the space's dimensions. */
  vector: number[];
  limit?: number;
  /** Leave out this conversation (usually the current one). */
  excludeConversationId?: string;
  /** HNSW candidate list size for this query (pgvector's `hnsw.ef_search`). */
  efSearch?: number;
}

export interface SimilarMessage {
  id: string;
  conversationId: string;
  role: Message['role'];
  text: string;
  createdAt: Date;
  /** In the space's metric: cosine distance, L2 distance, or negative inner product. */
  distance: number;
}

/**
 * Past messages of the current tenant closest to `vector` in one embedding space, by the same
 * exact-or-HNSW plan as chunk search (src/rag/vector-query.ts): the per-space partial index serves it,
 * iterative scans keep k results when row-level security filters most candidates out, and the
 * exact path answers when the filter leaves few. Never returns the embeddings.
 */
export async function findSimilarMessages(
  tx: Transaction,
  query: SimilarMessagesQuery,
): Promise<SimilarMessage[]> {
  const limit = parseInput(z.int().min(1).max(200), query.limit ?? 10, 'messages', 'limit');
  if (query.excludeConversationId !== undefined)
    assertUuid(query.excludeConversationId, 'excludeConversationId');
  const org = currentTenant(tx);
  return guarded(async () => {
    const { space, vector } = await resolveQueryVector(
      tx,
      query.spaceId,
      { vector: query.vector },
      'messages',
    );
    const filter = sql`organization_id = ${org}::uuid${
      query.excludeConversationId ? sql` and conversation_id <> ${query.excludeConversationId}::uuid` : sql``
    }`;
    const q = { table: 'messages', space, vector, filter, limit, options: { efSearch: query.efSearch } };
    // Each hit's message looked up by its key after the hits, as chunks are (see `chunksOfHits`).
    const nearest = async (plan: NearestPlan) =>
      rowsOf<{
        id: string;
        conversation_id: string;
        role: Message['role'];
        text: string;
        created_at: string;
        distance: number | string;
      }>(
        await tx.execute(sql`
          with nearest as materialized (${nearestSql(q, plan)})
          select m.id, m.conversation_id, m.role, m.text, n.distance,
                 to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
          from nearest n
          cross join lateral (
            select m.id, m.conversation_id, m.role, m.text, m.created_at from messages m
            where m.organization_id = ${org}::uuid and m.id = n.id limit 1
          ) m
          order by n.distance, m.id`),
      );
    const { rows } = await runNearest(tx, q, await planNearest(tx, q), nearest);
    return rows.map((row) => ({
      id: row.id,
      conversationId: row.conversation_id,
      role: row.role,
      text: row.text,
      createdAt: new Date(row.created_at),
      distance: Number(row.distance),
    }));
  });
}
