import { type SQL, sql } from 'drizzle-orm';
import { invalidInput, isUuid } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { scoreSql } from './embedding-spaces.ts';
import { CHUNK_KEY, type OpenChunkMetadata } from './ingest.ts';
import { type QueryVector, resolveQueryVector, uuidArray } from './search-input.ts';
import { withSettings, withValuesWrittenIn } from './search-statements.ts';
import { type OneStatementMeta, type OneStatementNearest, oneStatementNearest } from './tenant-nearest.ts';
import {
  defaultEfSearch,
  defaultWholeTenantThreshold,
  type NearestPlan,
  type NearestQuery,
  type PlannedIndex,
  tenantIndexRequests,
  type VectorSearchOptions,
} from './vector-query.ts';

// How a chunk search is built and run: its query (space, vector, datasets), the one statement
// that chooses its path (src/rag/vector-query.ts), the datasets' check and the hits it returns.
// The public searches are in src/rag/search.ts.

/** A chunk found by a search: never its embedding. */
export interface ChunkHit {
  id: string;
  datasetId: string;
  documentId: string;
  documentTitle: string;
  ordinal: number;
  content: string;
  tokenCount: number;
  metadata: OpenChunkMetadata;
  /** The caller's key given at ingest (`IngestChunk.key`), or null. */
  key: string | null;
  /** The space's distance to the query (smaller is nearer); null for a chunk not embedded yet. */
  distance: number | null;
  /** Larger is better: cosine similarity for cosine spaces; the fused rank score for hybrid search. */
  score: number;
}

/** How a search ran: the path, the index it searched, and whether the tenant's own index is still to come. */
export interface SearchPath {
  /** `hnsw_then_exact`: the index scan found fewer than k, so the exact path answered. */
  strategy: 'exact' | 'hnsw' | 'hnsw_then_exact';
  /** The HNSW index searched (chunks: always the tenant's own), null on the exact path. */
  index: PlannedIndex | null;
  /**
   * More chunks match than the exact threshold but the tenant's own index is not built yet: the
   * search ran exactly (full recall, slower as the tenant grows) and asked for the index, which
   * `watchTenantIndexes` (or `neonhub-db maintain`) builds.
   */
  tenantIndexPending: boolean;
  /** Chunks matching the filter, counted up to the exact threshold + 1. */
  candidates: number;
}

export const pathOf = (plan: NearestPlan, strategy: SearchPath['strategy'] = plan.strategy): SearchPath => ({
  strategy,
  index: strategy === 'hnsw' ? (plan.index ?? null) : null,
  tenantIndexPending: plan.tenantIndexPending === true,
  candidates: plan.candidates,
});

export type HitRow = {
  id: string;
  dataset_id: string;
  document_id: string;
  document_title: string;
  ordinal: number;
  content: string;
  token_count: number;
  metadata: OpenChunkMetadata;
  distance: number | null;
  score: number;
};

export const toHit = (row: HitRow): ChunkHit => ({
  id: row.id,
  datasetId: row.dataset_id,
  documentId: row.document_id,
  documentTitle: row.document_title,
  ordinal: Number(row.ordinal),
  content: row.content,
  tokenCount: Number(row.token_count),
  metadata: row.metadata,
  key: typeof row.metadata?.[CHUNK_KEY] === 'string' ? row.metadata[CHUNK_KEY] : null,
  distance: row.distance === null ? null : Number(row.distance),
  score: Number(row.score),
});

/**
 * The datasets a search covers, as an array (`datasets`) and a filter on chunks: the given ones,
 * or all the tenant's live datasets in the space. For given ones it also returns the look-up that
 * {@link checkDatasets} validates; both run inside the plan's statement, saving a round trip.
 */
export function datasetScope(
  organizationId: string,
  spaceId: string,
  datasetIds: readonly string[] | undefined,
): { datasets: SQL; filter: SQL; check?: SQL; wanted?: string[] } {
  const scope = (datasets: SQL, given?: { check: SQL; wanted: string[] }) => ({
    datasets,
    filter: sql`dataset_id = any(${datasets})`,
    ...given,
  });
  if (datasetIds !== undefined && !Array.isArray(datasetIds))
    throw invalidInput('chunks', 'dataset_id', 'datasetIds must be an array of dataset ids');
  if (datasetIds === undefined) {
    if (!isUuid(spaceId)) throw new Error(`embedding space id ${spaceId} is not a UUID`);
    // An array computed once (an InitPlan), not a join: the index scan checks each row against it.
    return scope(sql`array(select id from datasets where organization_id = ${organizationId}
        and deleted_at is null and ${sql.raw(`embedding_space_id = '${spaceId}'::uuid`)})`);
  }
  const wanted = [...new Set(datasetIds.map((id) => (typeof id === 'string' ? id.toLowerCase() : id)))];
  if (wanted.length === 0) throw invalidInput('chunks', 'dataset_id', 'datasetIds is empty');
  const ids = uuidArray(wanted, 'chunks', 'dataset_id');
  return scope(ids, {
    wanted,
    check: sql`(select coalesce(json_agg(json_build_object('id', id, 'space', embedding_space_id, 'deleted', deleted_at is not null)), '[]'::json)
                from datasets where organization_id = ${organizationId} and id = any(${ids}))`,
  });
}

/** Each given dataset must be a live dataset of the current tenant in the space searched. */
export function checkDatasets(wanted: string[] | undefined, found: unknown, spaceId: string): void {
  if (!wanted) return;
  const rows = (found ?? []) as { id: string; space: string; deleted: boolean }[];
  for (const id of wanted) {
    const row = rows.find((r) => r.id === id);
    if (!row) throw invalidInput('chunks', 'dataset_id', `dataset ${id} does not exist in this organization`);
    if (row.deleted) throw invalidInput('chunks', 'dataset_id', `dataset ${id} is deleted`);
    if (row.space !== spaceId)
      throw invalidInput(
        'chunks',
        'dataset_id',
        `dataset ${id} is embedded in space ${row.space}, not ${spaceId}`,
      );
  }
}

/**
 * A chunk search's query (space, vector, dataset filter) and the look-up that checks its datasets.
 * `limit` rows come from the vector side, the k best of them matter most: `ef_search` defaults to
 * the list for k ({@link defaultEfSearch}), at least `limit` (a longer one cost hybridSearch's
 * vector side, 40 rows, more than it gained: fused recall@10 stayed 1.000 at 100k).
 */
export async function chunkQuery(
  tx: Transaction,
  input: VectorSearchOptions & { spaceId: string; datasetIds?: string[] },
  query: QueryVector,
  sizes: { k: number; limit: number },
): Promise<{ q: NearestQuery; scope: ReturnType<typeof datasetScope> }> {
  const organizationId = currentTenant(tx);
  const { space, vector } = await resolveQueryVector(tx, input.spaceId, query, 'chunks');
  const scope = datasetScope(organizationId, space.id, input.datasetIds);
  const efSearch = input.efSearch ?? Math.max(sizes.limit, defaultEfSearch(sizes.k));
  const q: NearestQuery = {
    table: 'chunks',
    // A dataset re-embedded into this space and switched to it has its vectors there (src/reembedding/reembedding.ts).
    alsoFrom: 'chunk_embeddings',
    space,
    vector,
    filter: scope.filter,
    // chunks_dataset_id_embedding_space_id_idx, and chunk_embeddings' index of the same columns.
    candidateOrder: sql`dataset_id, embedding_space_id`,
    limit: sizes.limit,
    // A search of the whole space reads the tenant's own graph, which holds just its candidates.
    options: {
      ...input,
      efSearch,
      exactThreshold:
        input.exactThreshold ??
        (input.datasetIds === undefined ? defaultWholeTenantThreshold(space.dimensions) : undefined),
    },
    organizationId,
  };
  return { q, scope };
}

/** The columns every row of a chunk search statement carries: how it ran, and the datasets' check. */
export type PathColumns = OneStatementMeta & { checked: unknown; moved?: boolean | null };

/**
 * Tenants and spaces (`org:space`) whose last search found vectors of its datasets in
 * `chunk_embeddings` (re-embedded datasets switched to the space and not yet moved home): a hint,
 * for this process, that their searches read that table too. Most tenants never have such vectors,
 * and planning its two selects was a large part of a search (hybridSearch of the 100k corpus's
 * largest tenant: planned in 2.2 ms with them, 0.9 ms without); a search without them checks in
 * the same statement that none match its filter, and runs again with them when some do. Only a
 * hint: a stale one costs a round trip, never a row.
 */
const readsMovedVectors = new Set<string>();
/** Entries the hint keeps; the oldest go first (a tenant has such vectors only while a move lasts). */
const MOVED_VECTOR_HINTS = 10_000;

function hintMovedVectors(key: string, present: boolean): void {
  if (!present) {
    readsMovedVectors.delete(key);
    return;
  }
  readsMovedVectors.add(key);
  if (readsMovedVectors.size > MOVED_VECTOR_HINTS)
    readsMovedVectors.delete(readsMovedVectors.values().next().value as string);
}

/**
 * Runs a chunk search as one statement that chooses its path itself ({@link oneStatementNearest}):
 * `select` reads the `nearest` CTE and returns its rows joined to `path`, a one-row relation of
 * the {@link PathColumns} (so they come back even when nothing matches: the hit columns are then
 * null). With `writeValuesIn`, its values go in its text ({@link withValuesWrittenIn}): only ids
 * and the query vector, already in search texts as index predicates and literals, never a
 * caller's words. `q.alsoFrom` is read only for tenants the {@link readsMovedVectors} hint names;
 * for the others the statement says whether it holds rows of the filter (`moved`), and when it
 * does the search runs again reading it. A tenant index found pending is asked for before the
 * caller's transaction ends.
 */
export async function runChunkSearch<R>(
  tx: Transaction,
  q: NearestQuery,
  scope: ReturnType<typeof datasetScope>,
  how: { writeValuesIn: boolean },
  select: (nearest: OneStatementNearest, path: SQL) => SQL,
): Promise<{ rows: (R & PathColumns)[]; plan: NearestPlan }> {
  const organizationId = q.organizationId ?? currentTenant(tx);
  const hint = `${organizationId}:${q.space.id}`;
  const run = async (query: NearestQuery) => {
    const nearest = oneStatementNearest(tx, query);
    // Whether the table left out holds vectors of the filter in this space.
    const moved =
      q.alsoFrom && !query.alsoFrom
        ? sql`, exists (select 1 from ${sql.identifier(q.alsoFrom)} where organization_id = ${organizationId}
            and ${sql.raw(`embedding_space_id = '${q.space.id}'::uuid`)} and ${scope.filter}) as moved`
        : sql``;
    const path = sql`(select ${nearest.meta}, ${scope.check ?? sql`null`} as checked${moved}) path`;
    const statement = select(nearest, path);
    const rows = await withSettings(tx, nearest.settings, async () =>
      rowsOf<R & PathColumns>(
        await tx.execute(how.writeValuesIn ? withValuesWrittenIn(statement) : statement),
      ),
    );
    return { rows, plan: nearest.planOf(rows[0] ?? {}) };
  };
  const both = q.alsoFrom !== undefined && readsMovedVectors.has(hint);
  let { rows, plan } = await run(both ? q : { ...q, organizationId, alsoFrom: undefined });
  if (q.alsoFrom && !both && rows[0]?.moved === true) {
    hintMovedVectors(hint, true);
    ({ rows, plan } = await run({ ...q, organizationId }));
  } else if (both && Number(rows[0]?.also_candidates ?? 0) === 0) hintMovedVectors(hint, false);
  checkDatasets(scope.wanted, rows[0]?.checked, q.space.id);
  if (plan.tenantIndexPending)
    for (const request of tenantIndexRequests(q.space, organizationId)) await tx.execute(request);
  return { rows, plan };
}

/**
 * The chunk of each hit (`c`) and its document's title (`d`), each looked up by its key in a
 * LATERAL subquery, after `from <hits>`: its LIMIT keeps the subquery from being joined freely,
 * so the hits come first. As a plain join, for a tenant the statistics had not seen (one row
 * expected) the planner started from the tenant's chunks and read all of them: 8,000 rows for 10
 * hits (`test/key-lookup-plans.test.ts`).
 */
export const chunksOfHits = (org: string, hitId: SQL) => sql`
  cross join lateral (
    select c.organization_id, c.id, c.dataset_id, c.document_id, c.ordinal, c.content, c.token_count, c.metadata
    from chunks c where c.organization_id = ${org} and c.id = ${hitId} limit 1
  ) c
  cross join lateral (
    select d.title from documents d
    where d.organization_id = ${org} and d.organization_id = c.organization_id and d.id = c.document_id limit 1
  ) d`;

/** The hits of a search: the nearest chunks with their documents' titles, best first. */
export async function chunkHits(tx: Transaction, q: NearestQuery, scope: ReturnType<typeof datasetScope>) {
  const org = currentTenant(tx);
  const score = sql.raw(scoreSql(q.space.distance, 'n.distance'));
  const { rows, plan } = await runChunkSearch<Partial<HitRow>>(
    tx,
    q,
    scope,
    { writeValuesIn: true },
    (nearest, path) => sql`
      with ${nearest.ctes}
      select path.*, h.* from ${path}
      left join lateral (
        select c.id, c.dataset_id, c.document_id, d.title as document_title, c.ordinal, c.content,
               c.token_count, c.metadata, n.distance, ${score} as score
        from nearest n
        ${chunksOfHits(org, sql`n.id`)}
        order by n.distance, c.id
        limit ${q.limit}
      ) h on true
      order by h.distance, h.id`,
  );
  return { hits: rows.filter((row): row is HitRow & PathColumns => row.id != null).map(toHit), plan };
}
