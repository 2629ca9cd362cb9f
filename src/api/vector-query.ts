import { is, type SQL, sql } from 'drizzle-orm';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import { rowsOf, type Transaction } from '../client.ts';
import { invalidInput, isUuid } from '../input.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { currentTenant } from '../tenant.ts';
import {
  assertEmbedderFits,
  distanceOperator,
  type Embedder,
  embeddingIndexName,
  getEmbeddingSpace,
  tenantIndexName,
  toVector,
  type VectorInput,
  vectorLiteral,
} from './embedding-spaces.ts';

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
export type QueryVector = { vector: VectorInput; text?: undefined } | { text: string; embedder: Embedder };

export interface NearestPlan {
  strategy: VectorStrategy;
  /** What the caller's extra look-up returned (see {@link planNearest}). */
  checked?: unknown;
  /** Rows matching the filter, counted up to the exact threshold + 1. */
  candidates: number;
  efSearch?: number;
  maxScanTuples?: number;
  /** The tenant's own partial index serves the query (it has one, valid). */
  tenantIndex?: boolean;
  /** Settings not sent yet (`deferSettings`): {@link withPlanSettings} sends them with the statement. */
  settings?: Record<string, string | number>;
}

export interface NearestQuery {
  table: string;
  space: EmbeddingSpace;
  vector: number[];
  /** The tenant every statement names; {@link planNearest} sets it from the scope when absent. */
  organizationId?: string;
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
    return { space, vector: toVector(vector, space, table) };
  }
  if (query.vector === undefined) throw invalidInput(table, 'embedding', 'give a query vector or a text');
  return { space, vector: toVector(query.vector, space, table) };
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

/** The tenant named in every statement (a bind parameter), plus, for a tenant's own index, its literal predicate. */
function tenantCondition(q: NearestQuery, plan?: NearestPlan): SQL {
  const org = q.organizationId;
  if (!org) throw new Error('planNearest names the tenant of a nearest query before it runs');
  if (!plan?.tenantIndex) return sql`organization_id = ${org}`;
  if (!isUuid(org)) throw new Error(`organization id ${org} is not a UUID`);
  return sql`organization_id = ${org} and ${sql.raw(`organization_id = '${org}'::uuid`)}`;
}

/** A server transaction (postgres.js) runs several parameterless statements in one round trip. */
const onServer = (tx: Transaction) => is(tx._.session, PostgresJsSession);

/**
 * `SET LOCAL` for each setting: transaction-local like `set_config(..., true)`, and, unlike it,
 * forwarded by a Citus coordinator to the workers that run the statement. Values are numbers or
 * fixed words, never input.
 */
export async function setLocal(tx: Transaction, settings: Record<string, string | number>): Promise<void> {
  const statements = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_.]+$/.test(name) || !/^[a-z_0-9.]+$/.test(String(value)))
      throw new Error(`refusing setting ${name} = ${String(value)}`);
    return `set local ${name} = ${value}`;
  });
  if (onServer(tx)) await tx.execute(sql.raw(statements.join('; ')));
  else for (const statement of statements) await tx.execute(sql.raw(statement));
}

type PlanRow = {
  candidates: number;
  space_tuples: number | null;
  tenant_tuples: number | null;
  checked: unknown;
};

/**
 * Chooses the path in one round trip (which also runs the caller's `check` look-up, if any): a
 * count of the candidates capped at the exact threshold (served by the table's (tenant, filter,
 * space) index, so it reads at most that many entries; computed once, in a materialized CTE),
 * and whether the space's HNSW index, and the tenant's own (see `ensureTenantIndexes`), exist and
 * are valid. Exact when few rows match or no index is valid; otherwise HNSW, with `SET LOCAL`
 * (until the caller's transaction ends) relaxed iterative scans, `ef_search`, `max_scan_tuples`
 * sized for the filter's selectivity, and `enable_sort = off`: the planner's cost model otherwise
 * prefers sorting every candidate at 2-10% filters (`npm run bench`), so the index is the only
 * unpenalised path and the plan executed is the one chosen here.
 */
export async function planNearest(
  tx: Transaction,
  q: NearestQuery,
  check?: SQL,
  options: { deferSettings?: boolean } = {},
): Promise<NearestPlan> {
  const threshold = Math.max(q.options.exactThreshold ?? defaultExactThreshold(q.space.dimensions), q.limit);
  if (!Number.isInteger(threshold) || threshold < 0)
    throw invalidInput(q.table, 'embedding', `exactThreshold must be an integer >= 0, got ${threshold}`);
  const efSearch = q.options.efSearch ?? defaultEfSearch(q.limit);
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000)
    throw invalidInput(q.table, 'embedding', `efSearch must be an integer from 1 to 1000, got ${efSearch}`);
  const wanted = q.options.strategy ?? 'auto';
  if (!['auto', 'exact', 'hnsw'].includes(wanted))
    throw invalidInput(q.table, 'embedding', `strategy must be auto, exact or hnsw, got ${String(wanted)}`);
  q.organizationId ??= currentTenant(tx);
  const spaceIndex = `public.${embeddingIndexName(q.table, q.space.id)}`;
  const tenantIndex = `public.${tenantIndexName(q.table, q.space.id, q.organizationId)}`;
  const validTuples = (name: string) => sql`(select c.reltuples::float8 from pg_class c
    join pg_index i on i.indexrelid = c.oid where c.oid = to_regclass(${name}) and i.indisvalid)`;
  const [row] = rowsOf<PlanRow>(
    await tx.execute(sql`
      with counted as materialized (
        select count(*)::int as n from (
          select 1 from ${sql.identifier(q.table)}
          where ${tenantCondition(q)} and ${inSpace(q.space)} and ${q.filter}
          limit ${threshold + 1}) c
      )
      select n as candidates, ${validTuples(spaceIndex)} as space_tuples,
             ${validTuples(tenantIndex)} as tenant_tuples, ${check ?? sql`null`} as checked
      from counted`),
  );
  const candidates = Number(row?.candidates ?? 0);
  const checked = row?.checked;
  const spaceTuples = row?.space_tuples ?? null;
  const tenantTuples = row?.tenant_tuples ?? null;
  // A space without a valid index on this table (mid-build, or a table added around registration) is searched exactly.
  const useIndex =
    wanted !== 'exact' &&
    (spaceTuples !== null || tenantTuples !== null) &&
    (wanted === 'hnsw' || candidates > threshold);
  if (!useIndex) return { strategy: 'exact', candidates, checked };
  const ownIndex = tenantTuples !== null;
  // reltuples is -1 before the first ANALYZE; the count is then the best estimate there is.
  const indexed = Math.max(Number(ownIndex ? tenantTuples : spaceTuples), candidates, 1);
  const maxScanTuples = Math.min(
    MAX_SCAN_TUPLES,
    Math.max(MIN_SCAN_TUPLES, Math.ceil((8 * q.limit * indexed) / Math.max(candidates, 1))),
  );
  const settings = {
    'hnsw.iterative_scan': 'relaxed_order',
    'hnsw.ef_search': efSearch,
    'hnsw.max_scan_tuples': maxScanTuples,
    enable_sort: 'off',
  };
  const plan = {
    strategy: 'hnsw' as const,
    candidates,
    checked,
    efSearch,
    maxScanTuples,
    tenantIndex: ownIndex,
  };
  if (options.deferSettings) return { ...plan, settings };
  await setLocal(tx, settings);
  return plan;
}

/**
 * Runs the nearest statement of a plan made with `deferSettings`, its settings sent first: on a
 * server in the same flight (postgres.js pipelines a transaction's queries, and the server runs
 * them in order; a refused SET aborts the transaction, so the statement fails with it), which saves
 * a round trip per search.
 */
export async function withPlanSettings<T>(
  tx: Transaction,
  plan: NearestPlan,
  run: () => Promise<T>,
): Promise<T> {
  const { settings } = plan;
  if (!settings) return run();
  plan.settings = undefined;
  if (!onServer(tx)) {
    await setLocal(tx, settings);
    return run();
  }
  const [, result] = await Promise.all([setLocal(tx, settings), run()]);
  return result;
}

/**
 * `select id, distance ... order by distance limit n` for a plan. HNSW: the indexed expression
 * (`embedding::halfvec(D) <op> query`) under the partial index's predicate (the tenant's literal
 * too when it has its own index), so the index serves it; with relaxed order the caller re-sorts.
 * Exact: the uncast expression, which no index matches.
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
    where ${tenantCondition(q, plan)} and ${inSpace(q.space)} and ${q.filter}
    order by distance
    limit ${q.limit}`;
}
