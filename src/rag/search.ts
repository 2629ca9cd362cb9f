import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { TEXT_SEARCH_CONFIG } from '../schema/rag.ts';
import {
  type ChunkHit,
  checkDatasets,
  chunkHits,
  chunkQuery,
  chunksOfHits,
  type HitRow,
  type PathColumns,
  pathOf,
  runChunkSearch,
  type SearchPath,
  toHit,
} from './chunk-search.ts';
import type { Embedder, VectorInput } from './embedding-spaces.ts';
import { checkText } from './ingest-rows.ts';
import { assertK, MAX_K, type QueryVector, uuidArray } from './search-input.ts';
import { withSettings } from './search-statements.ts';
import {
  type NearestPlan,
  type NearestQuery,
  nearestSql,
  planNearest,
  type VectorSearchOptions,
  withPlanSettings,
} from './vector-query.ts';

export type { ChunkHit, SearchPath } from './chunk-search.ts';
export type { QueryVector } from './search-input.ts';
export { MAX_K } from './search-input.ts';
export type { VectorSearchOptions } from './vector-query.ts';
export { defaultEfSearch, defaultExactThreshold, defaultWholeTenantThreshold } from './vector-query.ts';

export type ChunkSearchInput = QueryVector &
  VectorSearchOptions & {
    spaceId: string;
    /** Default 10; 1..1000. */
    k?: number;
    /** Only these datasets (each must be a live dataset of the current tenant in this space). */
    datasetIds?: string[];
  };

export interface ChunkSearchResult extends SearchPath {
  hits: ChunkHit[];
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
 * where `ts_rank_cd`, which weighs proximity, takes 25 to 35). It runs in `app_chunk_text_matches`,
 * a definer function that checks its tenant is the scope's: under the tenant's row-level security
 * PostgreSQL runs no index condition that is not leakproof (`@@` is not) ahead of the policy, so a
 * scope's own query would read every chunk of the filter, where the GIN index gives the matches.
 * The vector side follows the plan of {@link searchChunks}, for `pool` rows. Give `text` plus
 * either `embedder` or a precomputed `vector`.
 */
export async function hybridSearch(
  tx: Transaction,
  input: HybridSearchInput,
): Promise<{ hits: HybridHit[] } & SearchPath> {
  const k = input.k ?? 10;
  assertK(k, 'chunks');
  if (typeof input.text !== 'string' || !/[\p{L}\p{N}]/u.test(input.text))
    throw invalidInput('chunks', 'content', 'the query text is empty (it has no letters or digits)');
  // Refused here, not by the server: a refused statement would leave the caller's transaction aborted.
  checkText('chunks', 'content', input.text, 'the query text');
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
    // The caller's words stay a bind parameter, out of the statement's text. The full-text side
    // is a definer function's, so the GIN index answers `@@` (see drizzle/0034).
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
          select id, rank from app_chunk_text_matches(${org}, ${anyWord}, ${scope.datasets}, ${pool})
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
          ${chunksOfHits(org, sql`f.id`)}
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
  checkText('documents', 'title', input.query, 'the title query');
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
