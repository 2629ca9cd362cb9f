import { type SQL, sql } from 'drizzle-orm';
import { rowsOf, type Transaction } from './client.ts';
import {
  assertEmbedderFits,
  assertVector,
  distanceOperator,
  type Embedder,
  embeddingIndexName,
  getEmbeddingSpace,
  vectorLiteral,
} from './embedding-spaces.ts';
import { invalidInput, isUuid } from './input.ts';
import type { EmbeddingSpace } from './schema/index.ts';

/** Largest k a search accepts. */
export const MAX_K = 1000;

/**
 * Filters leaving at most this many candidates are searched exactly (no index): at that size an
 * exact scan costs about what an iterative index scan does, and loses nothing. Above it the HNSW
 * index serves the query. An exact scan's cost grows with the vector length, so the threshold
 * shrinks with it: 2,000 candidates at 256 dimensions, 667 at 768, 333 at 1,536 (at least 200).
 */
export function defaultExactThreshold(dimensions: number): number {
  return Math.max(200, Math.round(512_000 / dimensions));
}

/**
 * `hnsw.ef_search` unless told otherwise: ten times the rows wanted, at least 100. pgvector's
 * default of 40 gave recall@10 of 0.89 to 0.92 on filters of 10% to 30% of 100k 768-dimension
 * chunks (`npm run bench`); the larger list stays well inside the latency budget.
 */
export function defaultEfSearch(limit: number): number {
  return Math.min(1000, Math.max(100, 10 * limit));
}

/** pgvector's own floor for `hnsw.max_scan_tuples`. */
const MIN_SCAN_TUPLES = 20_000;
const MAX_SCAN_TUPLES = 5_000_000;

export type VectorStrategy = 'exact' | 'hnsw';

export interface VectorSearchOptions {
  /** `auto` (default) decides by a capped count of the candidates; the others force a path. */
  strategy?: 'auto' | VectorStrategy;
  /** Candidates at or under which `auto` searches exactly. Default {@link defaultExactThreshold}. */
  exactThreshold?: number;
  /** `hnsw.ef_search` for this query (1..1000). Default {@link defaultEfSearch}; iterative scans go further when the filter needs it. */
  efSearch?: number;
}

/** The query vector: given, or the embedding of `text` by an embedder of the same space. */
export type QueryVector = { vector: number[]; text?: undefined } | { text: string; embedder: Embedder };

export interface NearestPlan {
  strategy: VectorStrategy;
  /** What the caller's extra look-up returned (see {@link planNearest}). */
  checked?: unknown;
  /** Rows matching the filter, counted up to the exact threshold + 1. */
  candidates: number;
  efSearch?: number;
  maxScanTuples?: number;
}

export interface NearestQuery {
  table: string;
  space: EmbeddingSpace;
  vector: number[];
  /** Extra conditions on the table (unqualified columns), already safe SQL. */
  filter: SQL;
  /** Rows wanted from the nearest-neighbour step. */
  limit: number;
  options: VectorSearchOptions;
}

/** Checks k: an integer from 1 to {@link MAX_K}. */
export function assertK(k: unknown, table: string): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    throw invalidInput(table, 'embedding', `k must be an integer from 1 to ${MAX_K}, got ${String(k)}`);
}

/** A list of UUIDs as a SQL array literal (each checked, so inlining is safe). */
export function uuidArray(ids: readonly string[], table: string, column: string): SQL {
  for (const id of ids)
    if (!isUuid(id))
      throw invalidInput(table, column, `${column} must hold UUIDs, got ${JSON.stringify(id)}`);
  return sql.raw(`'{${ids.join(',')}}'::uuid[]`);
}

/** Loads the space, checks the query (vector or text + embedder) against it and returns the vector. */
export async function resolveQueryVector(
  tx: Transaction,
  spaceId: string,
  query: QueryVector,
  table: string,
): Promise<{ space: EmbeddingSpace; vector: number[] }> {
  const space = await getEmbeddingSpace(tx, spaceId, table);
  if (query.text !== undefined) {
    if (typeof query.text !== 'string' || !/[\p{L}\p{N}]/u.test(query.text))
      throw invalidInput(table, 'content', 'the query text is empty (it has no letters or digits)');
    if (!query.embedder) throw invalidInput(table, 'embedding', 'a text query needs an embedder');
    assertEmbedderFits(query.embedder, space, table);
    const [vector] = await query.embedder.embedMany([query.text]);
    assertVector(vector, space, table);
    return { space, vector };
  }
  if (query.vector === undefined) throw invalidInput(table, 'embedding', 'give a query vector or a text');
  assertVector(query.vector, space, table);
  return { space, vector: query.vector };
}

/**
 * The per-space index's predicate, inlined as literals: a parameter would not let the planner
 * prove the partial index applies (generic plans).
 */
const inSpace = (space: EmbeddingSpace) => {
  if (!isUuid(space.id) || !Number.isInteger(space.dimensions))
    throw new Error(`embedding space ${space.id} is malformed`);
  return sql.raw(`embedding_space_id = '${space.id}'::uuid and embedding_dimensions = ${space.dimensions}`);
};

/**
 * Chooses the path in one round trip (which also runs the caller's `check` look-up, if any): a count of the candidates capped at the exact threshold
 * (served by the table's (tenant, filter, space) index, so it reads at most that many entries),
 * then exact, or HNSW with, transaction-locally, relaxed iterative scans, `ef_search`, and
 * `max_scan_tuples` large enough for the filter's selectivity (estimated from the index's size).
 */
export async function planNearest(tx: Transaction, q: NearestQuery, check?: SQL): Promise<NearestPlan> {
  const threshold = Math.max(q.options.exactThreshold ?? defaultExactThreshold(q.space.dimensions), q.limit);
  if (!Number.isInteger(threshold) || threshold < 0)
    throw invalidInput(q.table, 'embedding', `exactThreshold must be an integer >= 0, got ${threshold}`);
  const efSearch = q.options.efSearch ?? defaultEfSearch(q.limit);
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000)
    throw invalidInput(q.table, 'embedding', `efSearch must be an integer from 1 to 1000, got ${efSearch}`);
  const wanted = q.options.strategy ?? 'auto';
  if (!['auto', 'exact', 'hnsw'].includes(wanted))
    throw invalidInput(q.table, 'embedding', `strategy must be auto, exact or hnsw, got ${String(wanted)}`);
  const index = `public.${embeddingIndexName(q.table, q.space.id)}`;
  // A space without an index on this table (inserted around app_register_embedding_space) is searched exactly.
  const [row] = rowsOf<{
    candidates: number;
    use_index: boolean;
    max_scan_tuples: string | null;
    checked: unknown;
  }>(
    await tx.execute(sql`
      with counted as (
        select (select count(*)::int from (
                  select 1 from ${sql.identifier(q.table)}
                  where ${inSpace(q.space)} and ${q.filter}
                  limit ${threshold + 1}) c) as n,
               (select reltuples::float8 from pg_class where oid = to_regclass(${index})) as t
      ), decided as (
        select n, t, (t is not null and ${wanted !== 'exact'} and (${wanted === 'hnsw'} or n > ${threshold})) as use_index,
               least(${MAX_SCAN_TUPLES}, greatest(${MIN_SCAN_TUPLES},
                 ceil(8.0 * ${q.limit} * greatest(t, n) / greatest(n, 1))))::bigint::text as scan_tuples
        from counted
      )
      select n as candidates, use_index, ${check ?? sql`null`} as checked,
             case when use_index then set_config('hnsw.max_scan_tuples', scan_tuples, true) end as max_scan_tuples,
             case when use_index then set_config('hnsw.iterative_scan', 'relaxed_order', true) end as iterative_scan,
             case when use_index then set_config('hnsw.ef_search', ${String(efSearch)}, true) end as ef_search
      from decided`),
  );
  const candidates = Number(row?.candidates ?? 0);
  const checked = row?.checked;
  if (!row?.use_index) return { strategy: 'exact', candidates, checked };
  return { strategy: 'hnsw', candidates, checked, efSearch, maxScanTuples: Number(row.max_scan_tuples) };
}

/**
 * `select id, distance ... order by distance limit n` for a plan. HNSW: the indexed expression
 * (`embedding::halfvec(D) <op> query`) under the partial index's predicate, so the index serves it;
 * with relaxed order the caller re-sorts. Exact: the uncast expression, which no index matches.
 */
export function nearestSql(q: NearestQuery, plan: NearestPlan): SQL {
  const op = sql.raw(distanceOperator(q.space.distance));
  const dims = sql.raw(String(q.space.dimensions));
  const literal = vectorLiteral(q.vector);
  const distance =
    plan.strategy === 'hnsw'
      ? sql`(embedding::halfvec(${dims}) ${op} ${literal}::halfvec(${dims}))`
      : sql`(embedding ${op} ${literal}::halfvec)`;
  return sql`
    select id, ${distance} as distance
    from ${sql.identifier(q.table)}
    where ${inSpace(q.space)} and ${q.filter}
    order by distance
    limit ${q.limit}`;
}
