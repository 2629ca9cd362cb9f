import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/base/input.ts';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import {
  appendMessage,
  contextWindow,
  createConversation,
  findSimilarMessages,
  listMessages,
  listUserConversations,
  type MessageView,
  setMessageEmbedding,
} from '../src/domains/chat.ts';
import { embedText } from '../src/rag/embedder.ts';
import {
  embeddingIndexName,
  getEmbeddingSpace,
  registerEmbeddingSpace,
} from '../src/rag/embedding-spaces.ts';
import { nearestSql, planNearest, withPlanSettings } from '../src/rag/vector-query.ts';
import { conversations, embeddingSpaces, messages } from '../src/schema/index.ts';
import { insertMessageSchema, messageContentSchema, messagePartSchema } from '../src/validators/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();

let org = '';
let otherOrg = '';
let owner = '';
let otherOwner = '';

beforeAll(async () => {
  const { acme, globex } = await seedAcmeAndGlobex(database.current.db);
  org = acme.organizationId;
  otherOrg = globex.organizationId;
  owner = acme.ownerUserId;
  otherOwner = globex.ownerUserId;
});

const tenant = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(database.current.db, org, fn);
const text = (t: string) => [{ type: 'text' as const, text: t }];

describe('conversations and messages', () => {
  it('moves last_message_at with each append, never backwards', async () => {
    const { conversation, first, late, after } = await tenant(async (tx) => {
      const conversation = await createConversation(tx, {
        title: 'Launch',
        createdByUserId: owner,
        kind: 'chat',
      });
      const first = await appendMessage(tx, {
        conversationId: conversation.id,
        role: 'user',
        content: text('Hello'),
      });
      // An import of an older message must not move the activity time back.
      const late = await appendMessage(tx, {
        conversationId: conversation.id,
        role: 'assistant',
        content: text('Hi (imported)'),
        createdAt: new Date('2020-01-01T00:00:00Z'),
      });
      const [after] = await tx.select().from(conversations).where(eq(conversations.id, conversation.id));
      return { conversation, first, late, after };
    });
    expect(after?.lastMessageAt.getTime()).toBeGreaterThanOrEqual(conversation.lastMessageAt.getTime());
    expect(after?.lastMessageAt.getTime()).toBe(first.createdAt.getTime());
    expect(late.createdAt.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(first.text).toBe('Hello');
  });

  it('moves last_message_at to the stored time of the newest message, to the microsecond', async () => {
    // Separate transactions, so the message's now() is later than the conversation's. The server's
    // clock has microseconds a JS Date would lose; PGlite's stops at the millisecond.
    const conversation = await tenant((tx) => createConversation(tx, { title: 'Exact' }));
    const message = await tenant((tx) =>
      appendMessage(tx, { conversationId: conversation.id, role: 'user', content: text('Later') }),
    );
    const [row] = await tenant(async (tx) =>
      rowsOf<{ same: boolean; sub_millisecond: number }>(
        await tx.execute(sql`
          select c.last_message_at = m.created_at as same,
                 (extract(microseconds from m.created_at)::int % 1000) as sub_millisecond
          from conversations c
          join messages m on m.organization_id = c.organization_id and m.conversation_id = c.id
          where c.organization_id = ${org}::uuid and c.id = ${conversation.id}::uuid
            and m.organization_id = ${org}::uuid and m.id = ${message.id}::uuid`),
      ),
    );
    console.log(`message time's microseconds past the millisecond: ${row?.sub_millisecond}`);
    expect(row?.same).toBe(true);
  });

  it('stores typed parts and their plain text; the database and the validator refuse unknown parts', async () => {
    const row = await tenant(async (tx) => {
      const conversation = await createConversation(tx, { title: 'Parts' });
      await appendMessage(tx, {
        conversationId: conversation.id,
        role: 'assistant',
        content: [{ type: 'tool_call', toolCallId: 'c1', toolName: 'search_web', input: { query: 'shoes' } }],
      });
      await appendMessage(tx, {
        conversationId: conversation.id,
        role: 'tool',
        content: [{ type: 'tool_result', toolCallId: 'c1', toolName: 'search_web', output: 'three results' }],
      });
      return appendMessage(tx, {
        conversationId: conversation.id,
        role: 'user',
        content: [
          { type: 'text', text: 'See the attached brief.' },
          { type: 'file', uri: 's3://b/brief.pdf', mediaType: 'application/pdf', name: 'brief.pdf' },
        ],
        tokens: 12,
      });
    });
    expect(row.text).toBe('See the attached brief.\nbrief.pdf');
    expect(row.content[1]).toMatchObject({ type: 'file', name: 'brief.pdf' });

    const bad: unknown[] = [[], [{ type: 'video', url: 'x' }], [{ text: 'no type' }], ['just a string'], {}];
    let refusedByDb = 0;
    let refusedByZod = 0;
    for (const content of bad) {
      if (!messageContentSchema.safeParse(content).success) refusedByZod++;
      const error = await failure(() =>
        tenant(async (tx) => {
          const conversation = await createConversation(tx, {});
          await tx.execute(
            sql`insert into messages (conversation_id, role, content) values (${conversation.id}, 'user', ${JSON.stringify(content)}::text::jsonb)`,
          );
        }),
      );
      expect(error).toMatchObject({ kind: 'check_violation', constraint: 'messages_content_check' });
      refusedByDb++;
    }
    console.log(
      `malformed contents refused: database ${refusedByDb}/${bad.length}, validator ${refusedByZod}/${bad.length}`,
    );
    expect(refusedByZod).toBe(bad.length);

    // Through the API: tool calls come from the assistant only; nothing is written.
    const error = await failure(() =>
      tenant(async (tx) => {
        const conversation = await createConversation(tx, { title: 'Wrong role' });
        await appendMessage(tx, {
          conversationId: conversation.id,
          role: 'user',
          content: [{ type: 'tool_call', toolCallId: 'c', toolName: 't', input: {} }],
        });
      }),
    );
    expect(error).toMatchObject({ table: 'messages', column: 'content' });
    const wrong = await tenant((tx) =>
      tx.select().from(conversations).where(eq(conversations.title, 'Wrong role')),
    );
    expect(wrong).toEqual([]);
  });

  it('keeps branches inside their conversation', async () => {
    const error = await failure(() =>
      tenant(async (tx) => {
        const a = await createConversation(tx, {});
        const b = await createConversation(tx, {});
        const m = await appendMessage(tx, { conversationId: a.id, role: 'user', content: text('a') });
        await appendMessage(tx, {
          conversationId: b.id,
          role: 'user',
          content: text('b'),
          parentMessageId: m.id,
        });
      }),
    );
    expect(error).toMatchObject({ table: 'messages', column: 'parent_message_id' });
    const branch = await tenant(async (tx) => {
      const a = await createConversation(tx, {});
      const m = await appendMessage(tx, { conversationId: a.id, role: 'user', content: text('draft 1') });
      return appendMessage(tx, {
        conversationId: a.id,
        role: 'user',
        content: text('draft 2'),
        parentMessageId: m.id,
      });
    });
    expect(branch.parentMessageId).not.toBeNull();
  });

  it('pages a timeline by keyset, stable while new messages arrive', async () => {
    const conversationId = await tenant(async (tx) => {
      const conversation = await createConversation(tx, { title: 'Long', createdByUserId: owner });
      for (let i = 1; i <= 120; i++) {
        await appendMessage(tx, {
          conversationId: conversation.id,
          role: i % 2 ? 'user' : 'assistant',
          content: text(`message ${i}`),
        });
      }
      return conversation.id;
    });
    const page1 = await tenant((tx) => listMessages(tx, conversationId, { limit: 50 }));
    expect(page1.messages[0]?.text).toBe('message 120');
    // Ten new messages arrive between page 1 and page 2.
    await tenant(async (tx) => {
      for (let i = 121; i <= 130; i++) {
        await appendMessage(tx, { conversationId, role: 'user', content: text(`message ${i}`) });
      }
    });
    const seen: MessageView[] = [...page1.messages];
    let cursor = page1.nextCursor;
    while (cursor) {
      const page = await tenant((tx) =>
        listMessages(tx, conversationId, { limit: 50, before: cursor ?? undefined }),
      );
      seen.push(...page.messages);
      cursor = page.nextCursor;
    }
    const numbers = seen.map((m) => Number(m.text.replace('message ', '')));
    expect(numbers).toEqual(Array.from({ length: 120 }, (_, i) => 120 - i));
    console.log(
      `timeline: ${seen.length} messages in ${Math.ceil(seen.length / 50)} pages, no gap or repeat while 10 arrived`,
    );

    const window = await tenant((tx) => contextWindow(tx, conversationId, 5));
    expect(window.map((m) => m.text)).toEqual([126, 127, 128, 129, 130].map((n) => `message ${n}`));
    expect(window.every((m) => !('embedding' in m))).toBe(true);

    const badCursor = await failure(() =>
      tenant((tx) => listMessages(tx, conversationId, { before: 'nonsense' })),
    );
    expect(badCursor).toMatchObject({ table: 'messages' });
    const badLimit = await failure(() => tenant((tx) => listMessages(tx, conversationId, { limit: 0 })));
    expect(badLimit).toBeInstanceOf(InputError);
  });

  it("lists a user's conversations by last activity, keyset-paginated, in their tenant only", async () => {
    const ids = await tenant(async (tx) => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await createConversation(tx, { title: `Activity ${i}`, createdByUserId: otherOwner });
        created.push(c.id);
      }
      // Oldest conversation gets the newest message.
      await appendMessage(tx, { conversationId: created[0] ?? '', role: 'user', content: text('bump') });
      return created;
    });
    const pages: string[] = [];
    let before: string | undefined;
    do {
      const page = await tenant((tx) => listUserConversations(tx, otherOwner, { limit: 2, before }));
      pages.push(...page.conversations.map((c) => c.id));
      before = page.nextCursor ?? undefined;
    } while (before);
    expect(pages).toHaveLength(5);
    expect(pages[0]).toBe(ids[0]);
    expect(new Set(pages)).toEqual(new Set(ids));
    const elsewhere = await withTenant(database.current.db, otherOrg, (tx) =>
      listUserConversations(tx, otherOwner),
    );
    expect(elsewhere.conversations.some((c) => ids.includes(c.id))).toBe(false);
  });
});

describe('similar messages', () => {
  it("finds the current tenant's closest past messages in a space, never another tenant's", async () => {
    const { db } = database.current;
    const dims = 64;
    const [space] = await db
      .insert(embeddingSpaces)
      .values({ provider: 'neonhub-local', model: 'feature-hash-v1', dimensions: dims, distance: 'cosine' })
      .returning();
    const spaceId = space?.id ?? '';
    const corpus = [
      'Write a tagline for recycled running shoes',
      'Schedule the spring campaign posts on LinkedIn',
      'What is our refund policy for damaged items',
      'Draft an email announcing the summer sale',
      'Suggest hashtags for the eco sneaker launch',
    ];
    const append = (orgId: string, texts: string[]) =>
      withTenant(db, orgId, async (tx) => {
        const conversation = await createConversation(tx, { title: 'History' });
        const out: string[] = [];
        for (const t of texts) {
          const m = await appendMessage(tx, {
            conversationId: conversation.id,
            role: 'user',
            content: text(t),
            embedding: { spaceId, vector: embedText(t, dims) },
          });
          out.push(m.id);
        }
        return { conversationId: conversation.id, ids: out };
      });
    const mine = await append(org, corpus);
    // The other tenant holds the exact query text: it must never come back.
    const theirs = await append(otherOrg, ['A tagline for recycled running sneakers']);

    const query = 'tagline for our recycled sneakers';
    const found = await tenant((tx) =>
      findSimilarMessages(tx, { spaceId, vector: embedText(query, dims), limit: 3 }),
    );
    console.log(
      'similar to %j:',
      query,
      found.map((m) => `${m.distance.toFixed(3)} ${m.text}`),
    );
    expect(found).toHaveLength(3);
    expect(found[0]?.text).toBe(corpus[0]);
    expect(found.map((m) => m.distance)).toEqual([...found.map((m) => m.distance)].sort((a, b) => a - b));
    expect(found.some((m) => theirs.ids.includes(m.id))).toBe(false);
    expect(Object.keys(found[0] ?? {})).not.toContain('embedding');

    const excluded = await tenant((tx) =>
      findSimilarMessages(tx, {
        spaceId,
        vector: embedText(query, dims),
        excludeConversationId: mine.conversationId,
      }),
    );
    expect(excluded).toEqual([]);

    const wrongLength = await failure(() =>
      tenant((tx) => findSimilarMessages(tx, { spaceId, vector: embedText(query, 8) })),
    );
    expect(wrongLength).toMatchObject({ table: 'messages' });
    const dbRefusal = await failure(() =>
      tenant((tx) => setMessageEmbedding(tx, mine.ids[1] ?? '', { spaceId, vector: embedText('x', 8) })),
    );
    expect(dbRefusal).toMatchObject({
      kind: 'foreign_key_violation',
      constraint: 'messages_embedding_space_fkey',
    });
    const [stored] = await tenant((tx) =>
      tx
        .select({ dims: messages.embeddingDimensions })
        .from(messages)
        .where(eq(messages.id, mine.ids[1] ?? '')),
    );
    expect(stored?.dims).toBe(dims);
  });
});

describe('similar messages at scale', () => {
  // The planner prefers the index only over thousands of embedded rows, which PGlite's HNSW inserts
  // (about 5 ms each) would take minutes to write.
  it.skipIf(!onServer)('are served by the space HNSW index, k of them, from the tenant only', async () => {
    const { db } = database.current;
    const dims = 128;
    const space = await registerEmbeddingSpace(db, {
      provider: 'test',
      model: 'random-128',
      dimensions: dims,
    });
    // Enough rows for the planner to prefer the index; a low exact threshold keeps the load small.
    const rows = 3500;
    await tenant(async (tx) => {
      const conversation = await createConversation(tx, { title: 'Many' });
      await tx.execute(sql`
        insert into messages (organization_id, conversation_id, role, content, text, embedding_space_id, embedding_dimensions, embedding)
        select ${org}::uuid, ${conversation.id}::uuid, 'user', '[{"type": "text", "text": "m"}]'::jsonb, 'm', ${space.id}::uuid, ${dims},
               v.embedding::vector(${sql.raw(String(dims))})::halfvec(${sql.raw(String(dims))})
        from generate_series(1, ${rows}) g,
             lateral (select array_agg(random() - 0.5 + 0 * (d + g)) as embedding from generate_series(1, ${dims}) d) v`);
    });
    await database.current.sql.exec('analyze messages');
    const vector = Array.from({ length: dims }, (_, i) => Math.sin(i));
    const { strategy, text } = await tenant(async (tx) => {
      const q = {
        table: 'messages',
        space: await getEmbeddingSpace(tx, space.id, 'messages'),
        vector,
        // The tenant filter findSimilarMessages sends.
        filter: sql`organization_id = ${org}::uuid`,
        limit: 10,
        options: { exactThreshold: 500 },
      };
      const plan = await planNearest(tx, q);
      const explained = rowsOf<{ 'QUERY PLAN': string }>(
        await withPlanSettings(tx, q, plan, () => tx.execute(sql`explain ${nearestSql(q, plan)}`)),
      );
      return { strategy: plan.strategy, text: explained.map((row) => row['QUERY PLAN']).join('\n') };
    });
    console.log(`similar messages over ${rows} embedded rows (${strategy}):\n${text}`);
    expect(strategy).toBe('hnsw');
    expect(text).toContain(`Index Scan using ${embeddingIndexName('messages', space.id)}`);
    const found = await tenant((tx) => findSimilarMessages(tx, { spaceId: space.id, vector, limit: 10 }));
    expect(found).toHaveLength(10);
    const elsewhere = await withTenant(database.current.db, otherOrg, (tx) =>
      findSimilarMessages(tx, { spaceId: space.id, vector, limit: 10 }),
    );
    expect(elsewhere).toEqual([]);
  });
});

describe('chat validators', () => {
  it('discriminate message parts by type', () => {
    expect(messagePartSchema.safeParse({ type: 'text', text: 'hi' }).success).toBe(true);
    expect(
      messagePartSchema.safeParse({ type: 'tool_result', toolCallId: 'c', toolName: 't', output: [1, 'a'] })
        .success,
    ).toBe(true);
    expect(messagePartSchema.safeParse({ type: 'file', uri: 'x', mediaType: 'not a type' }).success).toBe(
      false,
    );
    expect(messagePartSchema.safeParse({ type: 'text', text: 'hi', extra: 1 }).success).toBe(false);
    const base = {
      conversationId: owner,
      role: 'tool',
      content: [{ type: 'tool_result', toolCallId: 'c', toolName: 't', output: null }],
    };
    expect(insertMessageSchema.safeParse(base).success).toBe(true);
    expect(insertMessageSchema.safeParse({ ...base, role: 'assistant' }).success).toBe(false);
    expect(insertMessageSchema.safeParse({ ...base, tokens: -1 }).success).toBe(false);
  });
});
