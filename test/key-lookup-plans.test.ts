import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { appendMessage, createConversation } from '../src/domains/chat.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { hybridSearch, searchChunks } from '../src/rag/search.ts';
import { ensureTenantIndexes } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { tenantTables } from './support/catalog.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { type CorpusTenant, loadCorpus, localSpace, queryTexts } from './support/rag.ts';

// A tenant the statistics have not seen (new since the last ANALYZE of a table whose most common
// values then held every tenant) is expected to hold one row of each table. Its rows must still be
// found by their keys: through the primary key, not by reading every row of the tenant through
// another index that leads with it, and joined to a search's hits after the hits. In a database of
// its own: plans follow what the statistics have seen, which other files' rows would change.

const database = useTestDatabase();

const TABLES = ['chunks', 'documents', 'conversations', 'messages'] as const;
const EXTRA_DOCUMENTS = 1000;
/** Initech's large dataset: smaller on the embedded database, where building its index takes longer. */
const LARGE = onServer ? 1600 : 800;
const HISTORY = 3000;

let space: EmbeddingSpace;
let initech: CorpusTenant;
let conversationId: string;
let messageId: string;

const dataset = (index: number) => {
  const found = initech.datasets[index];
  if (!found) throw new Error(`no dataset ${index}`);
  return found;
};

/** A conversation of `count` messages, in one statement (appendMessage one by one takes long on the embedded database). */
async function conversationOf(
  tx: Transaction,
  count: number,
): Promise<{ conversationId: string; firstMessageId: string }> {
  const conversation = await createConversation(tx, { title: 'History' });
  const [first] = rowsOf<{ id: string }>(
    await tx.execute(sql`
      with added as (
        insert into messages (organization_id, conversation_id, role, content, text)
        select ${conversation.organizationId}::uuid, ${conversation.id}::uuid, 'user',
               jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'message ' || i)), 'message ' || i
        from generate_series(1, ${count}) i
        returning id)
      select id from added limit 1`),
  );
  return { conversationId: conversation.id, firstMessageId: first?.id ?? '' };
}

beforeAll(async () => {
  const { db, sql: raw } = database.current;
  space = await localSpace(db);
  // Acme is what the statistics see: its chunks, documents and conversation, analyzed.
  const [acme] = (await loadCorpus(db, space.id, [{ slug: 'keys-acme', datasets: [400] }])) as [CorpusTenant];
  await withTenant(db, acme.organizationId, (tx) => conversationOf(tx, 200));
  for (const table of TABLES) {
    await raw.exec(`analyze ${table}`);
    if (onServer) await raw.exec(`alter table ${table} set (autovacuum_enabled = off)`);
  }
  // Then Initech arrives, and nothing analyzes again: two datasets (20 and LARGE chunks), 1,000
  // more documents, and a conversation of 3,000 messages.
  [initech] = (await loadCorpus(db, space.id, [{ slug: 'keys-initech', datasets: [20, LARGE] }], {
    seed: 5,
    analyze: false,
  })) as [CorpusTenant];
  await withTenant(db, initech.organizationId, async (tx) => {
    await tx.execute(sql`
      insert into documents (organization_id, dataset_id, title)
      select ${initech.organizationId}::uuid, ${dataset(1).id}::uuid, 'Note ' || i
      from generate_series(1, ${EXTRA_DOCUMENTS}) i`);
    ({ conversationId, firstMessageId: messageId } = await conversationOf(tx, HISTORY));
  });
});

afterAll(async () => {
  if (onServer)
    for (const table of TABLES)
      await database.current.sql.exec(`alter table ${table} reset (autovacuum_enabled)`);
});

/** Rows of each table read in this transaction so far (fetched through indexes, or scanned). */
async function rowsRead(tx: Transaction): Promise<Record<string, number>> {
  const rows = rowsOf<{ table: string; n: number | string }>(
    await tx.execute(sql`
      select relname as table, coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) as n
      from pg_stat_xact_user_tables where relname in ('chunks', 'documents', 'messages', 'conversations')`),
  );
  return Object.fromEntries(rows.map((row) => [row.table, Number(row.n)]));
}

/** The rows of each table `call` reads, in the tenant's scope. */
async function readBy<T>(
  call: (tx: Transaction) => Promise<T>,
): Promise<{ result: T; read: Record<string, number> }> {
  return withTenant(database.current.db, initech.organizationId, async (tx) => {
    const before = await rowsRead(tx);
    const result = await call(tx);
    const after = await rowsRead(tx);
    return {
      result,
      read: Object.fromEntries(
        Object.keys(after).map((table) => [table, (after[table] ?? 0) - (before[table] ?? 0)]),
      ),
    };
  });
}

it('the statistics expect one row of the new tenant, which holds thousands', async () => {
  const plans = await withTenant(database.current.db, initech.organizationId, async (tx) =>
    rowsOf<{ 'QUERY PLAN': string }>(
      await tx.execute(
        sql`explain select * from chunks where organization_id = ${initech.organizationId}::uuid`,
      ),
    ),
  );
  expect(plans[0]?.['QUERY PLAN']).toMatch(/rows=1 /);
});

it('a row of a tenant new since the last ANALYZE is found through the primary key', async () => {
  const ids = await readBy(async (tx) =>
    rowsOf<{ chunk: string; document: string }>(
      await tx.execute(
        sql`select (select id from chunks limit 1) as chunk, (select id from documents limit 1) as document`,
      ),
    ),
  );
  // Conversations are left out: Initech has one, and reading a table of two rows is right.
  const keys: Record<string, string> = {
    chunks: ids.result[0]?.chunk ?? '',
    documents: ids.result[0]?.document ?? '',
    messages: messageId,
  };
  const used: Record<string, string> = {};
  await withTenant(database.current.db, initech.organizationId, async (tx) => {
    for (const [table, id] of Object.entries(keys)) {
      const [row] = rowsOf<{ 'QUERY PLAN': unknown }>(
        await tx.execute(
          sql`explain (format json) select * from ${sql.identifier(table)}
              where organization_id = ${initech.organizationId}::uuid and id = ${id}::uuid`,
        ),
      );
      const raw = row?.['QUERY PLAN'];
      const plan = JSON.stringify(typeof raw === 'string' ? JSON.parse(raw) : raw);
      used[table] = plan.match(/"Index Name":\s*"([^"]+)"/)?.[1] ?? 'no index';
    }
  });
  console.log(`key lookups of a tenant new since ANALYZE: ${JSON.stringify(used)}`);
  // Any other index leading with the tenant looked as good to the planner, and read every row of it.
  expect(used).toEqual({ chunks: 'chunks_pkey', documents: 'documents_pkey', messages: 'messages_pkey' });
});

it("a search of the new tenant reads its hits' chunks and documents by key", async () => {
  const small = dataset(0);
  const embedder = createLocalEmbedder(space.dimensions);
  const [text = ''] = queryTexts(1, 11);
  const searched = await readBy((tx) =>
    searchChunks(tx, { spaceId: space.id, text, embedder, k: 10, datasetIds: [small.id] }),
  );
  const hybrid = await readBy((tx) =>
    hybridSearch(tx, { spaceId: space.id, text, embedder, k: 10, datasetIds: [small.id] }),
  );
  console.log(
    `searches of ${small.chunks} of the new tenant's ${small.chunks + dataset(1).chunks} chunks read: ` +
      `searchChunks ${JSON.stringify(searched.read)}, hybridSearch ${JSON.stringify(hybrid.read)}`,
  );
  expect(searched.result.hits).toHaveLength(10);
  expect(hybrid.result.hits).toHaveLength(10);
  // The dataset's 20 chunks counted, then searched exactly, then the 10 hits read by key. Joined
  // from the tenant's side, a search read all of its chunks (1,620 on a server) and 1,000 documents
  // for them, and the count and the exact scan each read all of them through the primary key.
  const tenantChunks = small.chunks + dataset(1).chunks;
  expect(searched.read.chunks).toBeLessThan(120);
  // hybridSearch's full-text side reads the tenant's chunks once: expecting one, the planner
  // matches each rather than ask the GIN index, until ANALYZE shows it the tenant.
  expect(hybrid.read.chunks).toBeLessThan(tenantChunks + 120);
  for (const { read } of [searched, hybrid]) expect(read.documents).toBeLessThan(40);
});

it('writes of the new tenant check their references by key', async () => {
  const embedder = createLocalEmbedder(space.dimensions);
  const [text = ''] = queryTexts(1, 12);
  const ingested = await readBy(async (tx) => {
    // Plans this pooled connection cached while Initech's documents were a few (a scan of a
    // one-page table) would read all of them whatever the indexes; a service plans on grown tables.
    await tx.execute(sql`discard plans`);
    return ingestDocument(tx, {
      datasetId: dataset(1).id,
      document: { title: 'One more' },
      chunks: Array.from({ length: 20 }, (_, i) => ({ content: `${text} ${i}` })),
      embedder,
    });
  });
  const appended = await readBy((tx) =>
    appendMessage(tx, {
      conversationId,
      role: 'user',
      content: [{ type: 'text', text: 'And one more' }],
      parentMessageId: messageId,
    }),
  );
  console.log(
    `a document of 20 chunks ingested beside ${EXTRA_DOCUMENTS} documents read ${JSON.stringify(ingested.read)}; ` +
      `a reply in a conversation of ${HISTORY} messages read ${JSON.stringify(appended.read)}`,
  );
  // Each of the 20 chunks checks its document, the reply its parent and conversation: a few rows
  // each, where every check read all of the tenant's documents or messages.
  expect(ingested.read.documents).toBeLessThan(100);
  expect(appended.read.messages).toBeLessThan(20);
  expect(appended.read.conversations).toBeLessThan(20);
});

it('no btree index of a tenant table but its keys and its listing indexes leads with the tenant', async () => {
  const { sql: raw } = database.current;
  const tenant = await tenantTables(raw);
  // Btree only: the full-text GIN index of chunks holds the tenant beside the words, and a GIN scan
  // costs the planner more than the primary key for the tenant alone (the lookups above take the key).
  const leading = await raw.query<{ table: string; index: string; unique: boolean }>(
    `select t.relname as table, c.relname as index, i.indisunique as unique
     from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
     join pg_am am on am.oid = c.relam
     where t.relnamespace = 'public'::regnamespace and t.relkind in ('r', 'p') and t.relname = any($1)
       and a.attname = 'organization_id' and not i.indisprimary and i.indpred is null and am.amname = 'btree'`,
    [tenant],
  );
  // On the tables that grow with their tenants, none at all (partial indexes, the run queue's,
  // serve only the statements that name their predicate).
  const grown = [
    'chunks',
    'chunk_embeddings',
    'documents',
    'conversations',
    'messages',
    'agent_runs',
    'tool_executions',
  ];
  expect(leading.filter((row) => grown.includes(row.table))).toEqual([]);
  // Elsewhere unique keys, and the indexes that list a tenant's rows in an order of their own.
  const listing = [
    'audit_logs_organization_id_seq_idx',
    'audit_logs_organization_id_target_idx',
    'content_items_current_version_idx', // (tenant, id, version): a lookup by id finds its row
    'invoices_organization_id_issued_at_idx',
    'training_jobs_organization_id_status_queued_at_idx',
    'usage_records_organization_id_recorded_at_idx',
  ];
  const others = leading.filter((row) => !row.unique).map((row) => row.index);
  console.log(
    `indexes led by the tenant: ${leading.filter((row) => row.unique).length} unique keys, listing ${others.join(', ')}`,
  );
  expect(others.sort()).toEqual(listing);
});

it("the maintainer that builds a grown tenant's index shows the tenant to the planner", async () => {
  // Last in this file: the ANALYZE it runs ends what the tests above depend on.
  const built = await ensureTenantIndexes(database.current, {
    spaceId: space.id,
    organizationIds: [initech.organizationId],
    minRows: LARGE / 2,
  });
  const [text = ''] = queryTexts(1, 11);
  const small = dataset(0);
  const hybrid = await readBy(async (tx) => {
    const [plan] = rowsOf<{ 'QUERY PLAN': string }>(
      await tx.execute(
        sql`explain select * from chunks where organization_id = ${initech.organizationId}::uuid`,
      ),
    );
    await hybridSearch(tx, {
      spaceId: space.id,
      text,
      embedder: createLocalEmbedder(space.dimensions),
      k: 10,
      datasetIds: [small.id],
    });
    return Number(/rows=(\d+)/.exec(plan?.['QUERY PLAN'] ?? '')?.[1]);
  });
  console.log(
    `after the index build the planner expects ${hybrid.result} chunks of the tenant; hybridSearch of ${small.chunks} read ${JSON.stringify(hybrid.read)}`,
  );
  expect(built).toHaveLength(1);
  // One row before (the first test): now about the chunks the tenant holds, which the full-text
  // side weighs against the GIN index's matches.
  expect(hybrid.result).toBeGreaterThan(LARGE / 2);
});
