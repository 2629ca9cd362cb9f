import { type SQL, sql } from 'drizzle-orm';
import { rowsOf, type Transaction } from '../client.ts';
import { toDatabaseError } from '../errors.ts';
import { invalidInput, isUuid } from '../input.ts';
import { TEXT_SEARCH_CONFIG } from '../schema/rag.ts';
import { currentTenant } from '../tenant.ts';
import { type Embedder, scoreSql, type VectorInput } from './embedding-spaces.ts';
import { CHUNK_KEY, type OpenChunkMetadata } from './ingest.ts';
import { withSettings, withValuesWrittenIn } from './search-statements.ts';
import {
  assertK,
  defaultEfSearch,
  MAX_K,
  type NearestPlan,
  type NearestQuery,
  nearestSql,
  type OneStatementMeta,
  type OneStatementNearest,
  oneStatementNearest,
  type PlannedIndex,
  planNearest,
  type QueryVector,
  requestTenantIndex,
  resolveQueryVector,
  uuidArray,
  type VectorSearchOptions,
  withPlanSettings,
} from './vector-query.ts';

export type { QueryVector, VectorSearchOptions } from './vector-query.ts';
export { defaultEfSearch, defaultExactThreshold, MAX_K } from './vector-query.ts';

export type ChunkSearchInput = QueryVector &
  VectorSearchOptions & {
    spaceId: string;
    /** Default 10; 1..1000. */
    k?: number;
    /** Only these datasets (each must be a live dataset of the current tenant in this space). */
    datasetIds?: string[];
  };

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

export interface ChunkSearchResult extends SearchPath {
  hits: ChunkHit[];
}

const pathOf = (plan: NearestPlan, strategy: SearchPath['strategy'] = plan.strategy): SearchPath => ({
  strategy,
  index: strategy === 'hnsw' ? (plan.index ?? null) : null,
  tenantIndexPending: plan.tenantIndexPending === true,
  candidates: plan.candidates,
});

type HitRow = {
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

const toHit = (row: HitRow): ChunkHit => ({
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
 * The datasets a search covers, as a filter on chunks: the given ones, or all the tenant's live
 * datasets in the space. For given ones it also returns the look-up that {@link checkDatasets}
 * validates; both run inside the plan's statement, saving a round trip.
 */
function datasetScope(
  organizationId: string,
  spaceId: string,
  datasetIds: readonly string[] | undefined,
): { filter: SQL; check?: SQL; wanted?: string[] } {
  if (datasetIds !== undefined && !Array.isArray(datasetIds))
    throw invalidInput('chunks', 'dataset_id', 'datasetIds must be an array of dataset ids');
  if (datasetIds === undefined) {
    if (!isUuid(spaceId)) throw new Error(`embedding space id ${spaceId} is not a UUID`);
    return {
      // An array computed once (an InitPlan), not a join: the index scan checks each row against it.
      filter: sql`dataset_id = any(array(select id from datasets where organization_id = ${organizationId}
        and deleted_at is null and ${sql.raw(`embedding_space_id = '${spaceId}'::uuid`)}))`,
    };
  }
  const wanted = [...new Set(datasetIds.map((id) => (typeof id === 'string' ? id.toLowerCase() : id)))];
  if (wanted.length === 0) throw invalidInput('chunks', 'dataset_id', 'datasetIds is empty');
  const ids = uuidArray(wanted, 'chunks', 'dataset_id');
  return {
    wanted,
    filter: sql`dataset_id = any(${ids})`,
    check: sql`(select coalesce(json_agg(json_build_object('id', id, 'space', embedding_space_id, 'deleted', deleted_at is not null)), '[]'::json)
                from datasets where organization_id = ${organizationId} and id = any(${ids}))`,
  };
}

/** Each given dataset must be a live dataset of the current tenant in the space searched. */
function checkDatasets(wanted: string[] | undefined, found: unknown, spaceId: string): void {
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
async function chunkQuery(
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
    // A dataset re-embedded into this space and switched to it has its vectors there (src/api/reembedding.ts).
    alsoFrom: 'chunk_embeddings',
    space,
    vector,
    filter: scope.filter,
    limit: sizes.limit,
    options: { ...input, efSearch },
    organizationId,
  };
  return { q, scope };
}

/** The columns every row of a chunk search statement carries: how it ran, and the datasets' check. */
type PathColumns = OneStatementMeta & { checked: unknown };

/**
 * Runs a chunk search as one statement that chooses its path itself ({@link oneStatementNearest}):
 * `select` reads the `nearest` CTE and returns its rows joined to `path`, a one-row relation of
 * the {@link PathColumns} (so they come back even when nothing matches: the hit columns are then
 * null). With `writeValuesIn`, its values go in its text ({@link withValuesWrittenIn}): only ids
 * and the query vector, already in search texts as index predicates and literals, never a
 * caller's words. A tenant index found pending is asked for before the caller's transaction ends.
 */
async function runChunkSearch<R>(
  tx: Transaction,
  q: NearestQuery,
  scope: ReturnType<typeof datasetScope>,
  how: { writeValuesIn: boolean },
  select: (nearest: OneStatementNearest, path: SQL) => SQL,
): Promise<{ rows: (R & PathColumns)[]; plan: NearestPlan }> {
  const nearest = oneStatementNearest(tx, q);
  const path = sql`(select ${nearest.meta}, ${scope.check ?? sql`null`} as checked) path`;
  const statement = select(nearest, path);
  const rows = await withSettings(tx, nearest.settings, async () =>
    rowsOf<R & PathColumns>(await tx.execute(how.writeValuesIn ? withValuesWrittenIn(statement) : statement)),
  );
  const [first] = rows;
  checkDatasets(scope.wanted, first?.checked, q.space.id);
  const plan = nearest.planOf(first ?? {});
  if (plan.tenantIndexPending) await tx.execute(requestTenantIndex(q.space));
  return { rows, plan };
}

/** The hits of a search: the nearest chunks with their documents' titles, best first. */
async function chunkHits(tx: Transaction, q: NearestQuery, scope: ReturnType<typeof datasetScope>) {
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
        join chunks c on c.organization_id = ${org} and c.id = n.id
        join documents d on d.organization_id = ${org} and d.organization_id = c.organization_id and d.id = c.document_id
        order by n.distance, c.id
        limit ${q.limit}
      ) h on true
      order by h.distance, h.id`,
  );
  return { hits: rows.filter((row): row is HitRow & PathColumns => row.id != null).map(toHit), plan };
}

/**
 * Top-k chunks of the current tenant nearest to a vector (or to a text, embedded by `embedder`),
 * optionally within some datasets, with distances and scores, never the embeddings.
 *
 * Filtered search keeps its recall: a capped count decides between an exact scan (few candidates)
 * and the tenant's own HNSW index with relaxed iterative scans, inside the one statement the search
 * sends (the pgvector settings made transaction-locally, so they last until the caller's
 * transaction ends; the planner overrides only for the search's statements); results are re-sorted
 * after the index scan, and whenever at least k chunks match, k come back (the exact path answers
 * if the index finds fewer). A tenant past the threshold whose index is not built yet is searched
 * exactly, and the result says so.
 */
export async function searchChunks(tx: Transaction, input: ChunkSearchInput): Promise<ChunkSearchResult> {
  const k = input.k ?? 10;
  assertK(k, 'chunks');
  try {
    const { q, scope } = await chunkQuery(tx, input, input, { k, limit: k });
    const { hits, plan } = await chunkHits(tx, q, scope);
    if (plan.strategy === 'hnsw' && hits.length < k && plan.candidates > hits.length) {
      const exact = await chunkHits(tx, { ...q, options: { ...q.options, strategy: 'exact' } }, scope);
      return { hits: exact.hits, ...pathOf(plan, 'hnsw_then_exact') };
    }
    return { hits, ...pathOf(plan) };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * The plan PostgreSQL chooses for the path a chunk search takes (EXPLAIN, no ANALYZE): the
 * search's choice made first for each table it reads (`chunks`, and `chunk_embeddings`, where a
 * re-embedded dataset's vectors are), then the chosen selects explained together.
 */
export async function explainSearchChunks(
  tx: Transaction,
  input: ChunkSearchInput,
): Promise<{ strategy: 'exact' | 'hnsw'; tenantIndexPending: boolean; plan: string }> {
  const k = input.k ?? 10;
  assertK(k, 'chunks');
  const { q, scope } = await chunkQuery(tx, input, input, { k, limit: k });
  const sides: NearestQuery[] = [
    q,
    ...(q.alsoFrom ? [{ ...q, table: q.alsoFrom, alsoFrom: undefined }] : []),
  ];
  const plans: NearestPlan[] = [];
  for (const side of sides)
    plans.push(await planNearest(tx, side, plans.length === 0 ? scope.check : undefined));
  checkDatasets(scope.wanted, plans[0]?.checked, q.space.id);
  const indexed = plans.find((plan) => plan.strategy === 'hnsw');
  const selects = sides.map((side, i) => sql`(${nearestSql(side, plans[i] as NearestPlan)})`);
  const rows = await withPlanSettings(tx, q, indexed ?? (plans[0] as NearestPlan), async () =>
    rowsOf<{ 'QUERY PLAN': string }>(
      await tx.execute(
        sql`explain with nearest as materialized (${sql.join(selects, sql` union all `)}) select * from nearest order by distance limit ${k}`,
      ),
    ),
  );
  return {
    strategy: indexed ? 'hnsw' : 'exact',
    tenantIndexPending: plans.some((plan) => plan.tenantIndexPending === true),
    plan: rows.map((row) => row['QUERY PLAN']).join('\n'),
  };
}

export type HybridSearchInput = VectorSearchOptions & {
  spaceId: string;
  /** Default 10; 1..1000. */
  k?: number;
  datasetIds?: string[];
  /** The words to match; also embedded by `embedder` when no `vector` is given. */
  text: string;
  vector?: VectorInput;
  embedder?: Embedder;
  /** Reciprocal rank fusion constant (default 60): score = sum of 1 / (rrfK + rank). */
  rrfK?: number;
  /** How many results each side contributes before fusion (default max(40, 4k), at most 1000). */
  pool?: number;
};

export interface HybridHit extends ChunkHit {
  /** Rank among vector results (1 = nearest), null when only the full-text side found it. */
  semanticRank: number | null;
  /** Rank among full-text results, null when only the vector side found it. */
  lexicalRank: number | null;
}

/**
 * Full-text and vector results fused by reciprocal rank in one SQL statement. The full-text side
 * matches any of the text's words (its lexemes OR-ed, so a chunk need not contain them all) in the
 * generated `search_vector`, ranked by `ts_rank` (12,000 matches of a tenant ranked in about 2 ms,
 * where `ts_rank_cd`, which weighs proximity, takes 25 to 35). Under the tenant's row-level security
 * it reads every chunk of the filter: PostgreSQL runs no index condition that is not leakproof (`@@` is not)
 * ahead of a policy, so the GIN index serves only logins that bypass row-level security. The vector
 * side follows the plan of {@link searchChunks}, for `pool` rows. Give `text` plus either
 * `embedder` or a precomputed `vector`.
 */
export async function hybridSearch(
  tx: Transaction,
  input: HybridSearchInput,
): Promise<{ hits: HybridHit[] } & SearchPath> {
  const k = input.k ?? 10;
  assertK(k, 'chunks');
  if (typeof input.text !== 'string' || !/[\p{L}\p{N}]/u.test(input.text))
    throw invalidInput('chunks', 'content', 'the query text is empty (it has no letters or digits)');
  const rrfK = input.rrfK ?? 60;
  if (!Number.isFinite(rrfK) || rrfK < 0) throw invalidInput('chunks', 'embedding', 'rrfK must be >= 0');
  const pool = input.pool ?? Math.min(MAX_K, Math.max(40, 4 * k));
  assertK(pool, 'chunks');
  try {
    if (input.vector === undefined && input.embedder === undefined)
      throw invalidInput('chunks', 'embedding', 'hybrid search needs a query vector or an embedder');
    const query: QueryVector =
      input.vector !== undefined
        ? { vector: input.vector }
        : { text: input.text, embedder: input.embedder as Embedder };
    const { q, scope } = await chunkQuery(tx, input, query, { k, limit: pool });
    const org = currentTenant(tx);
    const config = sql.raw(`'${TEXT_SEARCH_CONFIG}'::regconfig`);
    // Any of the text's lexemes, as one tsquery: immutable functions of a parameter, computed once
    // when the statement is planned.
    const anyWord = sql`replace(plainto_tsquery(${config}, ${input.text})::text, ' & ', ' | ')::tsquery`;
    type HybridRow = HitRow & { semantic_rank: number | null; lexical_rank: number | null };
    // The caller's words stay a bind parameter, out of the statement's text.
    const { rows, plan } = await runChunkSearch<Partial<HybridRow>>(
      tx,
      q,
      scope,
      { writeValuesIn: false },
      (nearest, path) => sql`
        with ${nearest.ctes},
        semantic as (
          select id, row_number() over (order by distance, id) as rank from nearest
        ),
        lexical as materialized (
          select id, row_number() over (order by ts_rank(search_vector, ${anyWord}) desc, id) as rank
          from chunks
          where chunks.organization_id = ${org} and search_vector @@ ${anyWord} and ${q.filter}
          order by rank
          limit ${pool}
        ),
        fused as (
          select coalesce(s.id, l.id) as id, s.rank as semantic_rank, l.rank as lexical_rank,
                 coalesce(1.0 / (${rrfK}::float8 + s.rank), 0) + coalesce(1.0 / (${rrfK}::float8 + l.rank), 0) as score
          from semantic s full join lexical l on l.id = s.id
          order by score desc, id
          limit ${k}
        )
        select path.*, h.* from ${path}
        left join lateral (
          select c.id, c.dataset_id, c.document_id, d.title as document_title, c.ordinal, c.content,
                 c.token_count, c.metadata, n.distance, f.score::float8 as score,
                 f.semantic_rank::int as semantic_rank, f.lexical_rank::int as lexical_rank
          from fused f
          join chunks c on c.organization_id = ${org} and c.id = f.id
          join documents d on d.organization_id = ${org} and d.organization_id = c.organization_id and d.id = c.document_id
          left join nearest n on n.id = f.id
        ) h on true
        order by h.score desc, h.id`,
    );
    const hits = rows
      .filter((row): row is HybridRow & PathColumns => row.id != null)
      .map((row) => ({
        ...toHit(row),
        semanticRank: row.semantic_rank === null ? null : Number(row.semantic_rank),
        lexicalRank: row.lexical_rank === null ? null : Number(row.lexical_rank),
      }));
    return { hits, ...pathOf(plan) };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export interface TitleSearchInput {
  query: string;
  datasetIds?: string[];
  /** Default 10; 1..1000. */
  limit?: number;
  /** pg_trgm word similarity a title must reach (0..1, default 0.3). */
  minSimilarity?: number;
}

export interface TitleHit {
  id: string;
  datasetId: string;
  title: string;
  sourceUri: string | null;
  similarity: number;
}

/**
 * Documents of the current tenant whose title resembles `query` (pg_trgm word similarity, served by
 * the trigram GIN index), best first. Typos and partial words match ("pricng" finds "Pricing").
 */
export async function searchDocumentTitles(tx: Transaction, input: TitleSearchInput): Promise<TitleHit[]> {
  const limit = input.limit ?? 10;
  assertK(limit, 'documents');
  if (typeof input.query !== 'string' || input.query.trim() === '')
    throw invalidInput('documents', 'title', 'the title query is empty');
  const minSimilarity = input.minSimilarity ?? 0.3;
  if (!(minSimilarity >= 0 && minSimilarity <= 1))
    throw invalidInput('documents', 'title', 'minSimilarity must be between 0 and 1');
  try {
    const datasetFilter = input.datasetIds
      ? sql`d.dataset_id = any(${uuidArray(input.datasetIds, 'documents', 'dataset_id')})`
      : sql`true`;
    const org = currentTenant(tx);
    const rows = await withSettings(tx, { 'pg_trgm.word_similarity_threshold': minSimilarity }, async () =>
      rowsOf<{
        id: string;
        dataset_id: string;
        title: string;
        source_uri: string | null;
        similarity: number;
      }>(
        await tx.execute(sql`
          select d.id, d.dataset_id, d.title, d.source_uri, word_similarity(${input.query}, d.title)::float8 as similarity
          from documents d
          join datasets s on s.organization_id = ${org} and s.organization_id = d.organization_id
            and s.id = d.dataset_id and s.deleted_at is null
          where d.organization_id = ${org} and ${input.query} <% d.title and ${datasetFilter}
          order by similarity desc, d.id
          limit ${limit}`),
      ),
    );
    return rows.map((row) => ({
      id: row.id,
      datasetId: row.dataset_id,
      title: row.title,
      sourceUri: row.source_uri,
      similarity: Number(row.similarity),
    }));
  } catch (error) {
    throw toDatabaseError(error);
  }
}
