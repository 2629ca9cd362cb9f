import { type SQL, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createBrand, createBrandVoice, findSimilarBrandVoices } from '../src/domains/brands.ts';
import { appendMessage, createConversation, findSimilarMessages } from '../src/domains/chat.ts';
import { hybridSearch, searchChunks, searchDocumentTitles } from '../src/rag/search.ts';
import { ensureTenantIndexes } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { type CorpusTenant, loadCorpus, localSpace, queryTexts } from './support/rag.ts';

// JIT compilation costs 200-700 ms on a 2-core machine, against a few ms for a search: no search
// may trigger it on a server with PostgreSQL's defaults (jit = on). Each path's statements are
// captured as sent, then run again in the same tenant's scope under EXPLAIN ANALYZE.

const database = useTestDatabase();

let space: EmbeddingSpace;
let indexed: CorpusTenant;
let pending: CorpusTenant;
const THRESHOLD = 300;

beforeAll(async () => {
  const { db } = database.current;
  space = await localSpace(db);
  [indexed, pending] = (await loadCorpus(db, space.id, [
    { slug: 'jit-indexed', datasets: [500, 100] },
    { slug: 'jit-pending', datasets: [400] },
  ])) as [CorpusTenant, CorpusTenant];
  await ensureTenantIndexes(database.current, {
    spaceId: space.id,
    organizationIds: [indexed.organizationId],
    minRows: THRESHOLD + 1,
  });
  await withTenant(db, indexed.organizationId, async (tx) => {
    const brand = await createBrand(tx, { slug: 'jit', name: 'JIT' });
    for (const name of ['Playful', 'Formal', 'Warm'])
      await createBrandVoice(tx, {
        brandId: brand.id,
        name,
        promptTemplate: `Be ${name.toLowerCase()}: {{task}}`,
        styleRules: {
          tone: [name.toLowerCase()],
          do: ['Be clear'],
          dont: ['Ramble'],
          preferredVocabulary: [],
          bannedVocabulary: [],
          readingLevel: 'high_school',
        },
        embed: { spaceId: space.id, embedder: localEmbedder },
      });
    const conversation = await createConversation(tx, { title: 'JIT' });
    for (const text of queryTexts(30, 5))
      await appendMessage(tx, {
        conversationId: conversation.id,
        role: 'user',
        content: [{ type: 'text', text }],
        embedding: { spaceId: space.id, vector: localEmbedder.embed(text) },
      });
  });
});

type Sent = { text: string; parameters: unknown[] };

/** The statements `run` sends in a tenant's scope, as sent, with their parameters. */
async function capture(
  organizationId: string,
  run: (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<unknown>,
) {
  const sent: Sent[] = [];
  const capturing = createDb({
    url: database.current.url,
    max: 1,
    onStatement: (text, parameters) => sent.push({ text, parameters: parameters ?? [] }),
  });
  try {
    await withTenant(capturing.db, organizationId, run);
  } finally {
    await capturing.close();
  }
  // The search's settings and queries; not the scope's own (BEGIN, role, tenant key, COMMIT) nor the driver's.
  return sent.filter(
    ({ text }) =>
      /^\s*set local\b/i.test(text) ||
      (/^\s*(select|with)\b/i.test(text) &&
        /\b(chunks|documents|messages|brand_voices|pg_notify)\b/.test(text)),
  );
}

/** A statement with its `$n` parameters bound again, for Drizzle (one with its values written in has none). */
function bound({ text, parameters }: Sent): SQL {
  if (parameters.length === 0) return sql.raw(text);
  const parts = text.split(/\$(\d+)/);
  return sql.join(
    parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${parameters[Number(part) - 1]}`)),
  );
}

type Replayed = { statement: string; cost: number; jit: boolean };

/** Runs the captured statements again in the tenant's scope: settings as they were, queries under EXPLAIN ANALYZE. */
async function replay(db: Database, organizationId: string, statements: Sent[]): Promise<Replayed[]> {
  return withTenant(db, organizationId, async (tx) => {
    const plans: Replayed[] = [];
    for (const statement of statements) {
      if (/^\s*set local\b/i.test(statement.text)) {
        await tx.execute(sql.raw(statement.text));
        continue;
      }
      const [row] = rowsOf<{ 'QUERY PLAN': [{ Plan: { 'Total Cost': number }; JIT?: unknown }] }>(
        await tx.execute(sql`explain (analyze, format json) ${bound(statement)}`),
      );
      const [plan] = row?.['QUERY PLAN'] ?? [];
      plans.push({
        statement: statement.text.replace(/\s+/g, ' ').trim().slice(0, 60),
        cost: Math.round(plan?.Plan['Total Cost'] ?? 0),
        jit: plan?.JIT !== undefined,
      });
    }
    return plans;
  });
}

// PGlite is built without JIT.
describe.runIf(onServer)('no search JIT-compiles', () => {
  it('EXPLAIN ANALYZE of every search path shows no JIT section on a server with jit = on', async () => {
    const { db } = database.current;
    const [settings] = rowsOf<{ jit: string; available: boolean; above: string }>(
      await db.execute(
        sql`select current_setting('jit') as jit, pg_jit_available() as available, current_setting('jit_above_cost') as above`,
      ),
    );
    console.log('server:', settings);
    const [text = 'x'] = queryTexts(1, 8);
    const vector = localEmbedder.embed(text);
    const exactThreshold = THRESHOLD;
    const paths: [
      string,
      string,
      (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<unknown>,
    ][] = [
      [
        'searchChunks, own index',
        indexed.organizationId,
        (tx) => searchChunks(tx, { spaceId: space.id, vector, exactThreshold }),
      ],
      [
        'searchChunks, one small dataset',
        indexed.organizationId,
        (tx) =>
          searchChunks(tx, {
            spaceId: space.id,
            vector,
            exactThreshold,
            datasetIds: [indexed.datasets[1]?.id ?? ''],
          }),
      ],
      [
        'searchChunks, index pending',
        pending.organizationId,
        (tx) => searchChunks(tx, { spaceId: space.id, vector, exactThreshold }),
      ],
      [
        'hybridSearch',
        indexed.organizationId,
        (tx) => hybridSearch(tx, { spaceId: space.id, text, vector, exactThreshold }),
      ],
      [
        'findSimilarMessages',
        indexed.organizationId,
        (tx) => findSimilarMessages(tx, { spaceId: space.id, vector }),
      ],
      [
        'findSimilarBrandVoices',
        indexed.organizationId,
        (tx) => findSimilarBrandVoices(tx, { spaceId: space.id, vector }),
      ],
      ['searchDocumentTitles', indexed.organizationId, (tx) => searchDocumentTitles(tx, { query: 'doc 0' })],
    ];
    const report: (Replayed & { path: string })[] = [];
    const captured = new Map<string, Sent[]>();
    for (const [path, organizationId, run] of paths) {
      const statements = await capture(organizationId, run);
      captured.set(path, statements);
      for (const plan of await replay(db, organizationId, statements)) report.push({ path, ...plan });
    }
    console.table(report);
    expect(new Set(report.map((line) => line.path)).size).toBe(paths.length);
    expect(report.filter((line) => line.jit)).toEqual([]);
    // The HNSW path runs with enable_sort = off: its statement costs past jit_above_cost, so only `jit = off` keeps it uncompiled.
    const hnsw = report.find(
      (line) => line.path === 'searchChunks, own index' && line.cost > Number(settings?.above),
    );
    expect(hnsw).toBeDefined();

    // Positive control: the same statements without `jit = off` are compiled where JIT is on.
    if (settings?.jit === 'on' && settings.available) {
      const withJit = (captured.get('searchChunks, own index') ?? []).map((statement) => ({
        ...statement,
        text: statement.text.replace(/set local jit = off/g, 'set local jit = on'),
      }));
      const compiled = await replay(db, indexed.organizationId, withJit);
      console.table(compiled);
      expect(compiled.some((line) => line.jit)).toBe(true);
    } else console.log('positive control skipped: JIT is off or unavailable on this server');
  });
});
