import { type SQL, sql } from 'drizzle-orm';
import { invalidInput, isUuid } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { distanceOperator, embeddingIndexName, tenantIndexName } from './embedding-spaces.ts';
import { halfvecLiteral } from './halfvec.ts';
import { withSettings } from './search-statements.ts';

/**
 * Filters leaving at most this many candidates are searched exactly (no index); above it an HNSW
 * index serves the query. A filter narrower than the tenant (some of its datasets) searches a part
 * of the tenant's graph, which costs recall as the part shrinks, so it stays exact up to what an
 * exact scan does in a tenant's HNSW scan time at the length a TOASTed vector is read: 2,000
 * candidates at 768 dimensions, 6,000 at 256, 1,000 at 1,536 (at least 200).
 */
export function defaultExactThreshold(dimensions: number): number {
  return Math.max(200, Math.round(1_536_000 / dimensions));
}

/**
 * The exact threshold of a search of the tenant's whole space, whose own index holds exactly its
 * candidates: the graph loses nothing there, and beats the exact scan early, because every
 * candidate of that scan reads its vector from TOAST (768 dimensions: 2.3 ms through the index
 * against 7.7 ms exactly at 1,906 candidates, 2.4 against 3.8 at 1,010). 600 candidates at 768
 * dimensions, 1,800 at 256, 300 at 1,536 (at least 200); tenants past it get their own index.
 */
export function defaultWholeTenantThreshold(dimensions: number): number {
  return Math.max(200, Math.round(460_800 / dimensions));
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
  /**
   * Candidates at or under which `auto` searches exactly. Default {@link defaultExactThreshold}; a
   * chunk search of the tenant's whole space (no `datasetIds`), {@link defaultWholeTenantThreshold}.
   */
  exactThreshold?: number;
  /** `hnsw.ef_search` for this query (1..1000). Default {@link defaultEfSearch}; iterative scans go further when the filter needs it. */
  efSearch?: number;
}

/** The HNSW index a plan searches: the tenant's own, or the space's shared one. */
export type PlannedIndex = 'tenant' | 'space';

export interface NearestPlan {
  strategy: VectorStrategy;
  /** What the caller's extra look-up returned (see {@link planNearest}). */
  checked?: unknown;
  /** Rows matching the filter, counted up to the exact threshold + 1. */
  candidates: number;
  efSearch?: number;
  maxScanTuples?: number;
  /** The index an `hnsw` plan searches. */
  index?: PlannedIndex;
  /**
   * More candidates than the exact threshold, and the tenant's own index is not built yet: the
   * search runs exactly meanwhile, and asks the tenant-index maintainer for it.
   */
  tenantIndexPending?: boolean;
  /** `SET LOCAL` settings {@link withPlanSettings} sends with the plan's statements. */
  settings: Record<string, string | number>;
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
  /**
   * The columns of the index that finds the candidates, in its order (chunks: `dataset_id,
   * embedding_space_id`): the candidate count and the exact scan ask for their rows in that order,
   * so the planner takes that index. For a tenant and datasets the statistics have not seen, it
   * expects one row through that index or through the primary key on the tenant alone, and took
   * the primary key, reading every row of the tenant.
   */
  candidateOrder?: SQL;
  /**
   * A second table with the same id, filter and embedding columns holding more vectors of the
   * space (`chunk_embeddings`, written by a re-embedding), searched beside `table` the same way
   * (its own capped count, the tenant's own index there) in the same statement.
   */
  alsoFrom?: string;
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
 * The capped count of a query's candidates, as a materialized CTE `counted (n)`. It names the space
 * alone (its length follows from it: `<table>_embedding_space_fkey`), so the (tenant, dataset,
 * space) B-tree answers it from the index, reading at most `cap` entries.
 */
export function countedCandidates(q: NearestQuery, cap: number, name = 'counted'): SQL {
  if (!isUuid(q.space.id)) throw new Error(`embedding space ${q.space.id} is malformed`);
  return sql`${sql.identifier(name)} as materialized (
    select count(*)::int as n from (
      select 1 from ${sql.identifier(q.table)}
      where ${tenantCondition(q)} and ${sql.raw(`embedding_space_id = '${q.space.id}'::uuid`)} and ${q.filter}
      ${q.candidateOrder ? sql`order by ${q.candidateOrder}` : sql``}
      limit ${cap}) c
  )`;
}

/** The tenant named in every statement (a bind parameter), plus, for a tenant's own index, its literal predicate. */
function tenantCondition(q: NearestQuery, plan?: NearestPlan): SQL {
  const org = q.organizationId;
  if (!org) throw new Error('planNearest names the tenant of a nearest query before it runs');
  if (plan?.index !== 'tenant') return sql`organization_id = ${org}`;
  if (!isUuid(org)) throw new Error(`organization id ${org} is not a UUID`);
  return sql`organization_id = ${org} and ${sql.raw(`organization_id = '${org}'::uuid`)}`;
}

/** Runs a plan's statements with its settings (see {@link withSettings}); a pending tenant index is asked for on the way ({@link tenantIndexRequests}). */
export const withPlanSettings = <T>(
  tx: Transaction,
  q: NearestQuery,
  plan: NearestPlan,
  run: () => Promise<T>,
) =>
  withSettings(
    tx,
    plan.settings,
    run,
    plan.tenantIndexPending ? tenantIndexRequests(q.space, q.organizationId ?? currentTenant(tx)) : [],
  );

/**
 * Runs a plan's nearest statement (`select`, with the plan's settings); when the index scan found
 * fewer than the rows wanted while more match, runs it again on the exact path, so whenever at
 * least `limit` rows match, `limit` come back.
 */
export async function runNearest<R>(
  tx: Transaction,
  q: NearestQuery,
  plan: NearestPlan,
  select: (plan: NearestPlan) => Promise<R[]>,
): Promise<{ rows: R[]; strategy: VectorStrategy | 'hnsw_then_exact' }> {
  const rows = await withPlanSettings(tx, q, plan, () => select(plan));
  if (plan.strategy !== 'hnsw' || rows.length >= q.limit || plan.candidates <= rows.length)
    return { rows, strategy: plan.strategy };
  const exact: NearestPlan = { ...plan, strategy: 'exact', index: undefined, settings: {} };
  return { rows: await withPlanSettings(tx, q, exact, () => select(exact)), strategy: 'hnsw_then_exact' };
}

/**
 * Tables whose vectors are searched through indexes of one tenant each (see `ensureTenantIndexes`),
 * never a shared one: every chunk search names one tenant, and a graph of all tenants serves such
 * a search badly (recall@10 0.88 to 0.95 at `ef_search` 100 for tenants of 1% to 30% of 100k rows,
 * against 1.000 on the tenant's own graph), while every row written would go into both. Chunks'
 * re-embedded vectors (`chunk_embeddings`) are searched beside them, so they are indexed the same
 * way. The other embedding tables keep the space's shared index.
 */
export const TENANT_INDEXED_TABLES = ['chunks', 'chunk_embeddings'] as const;

export type TenantIndexedTable = (typeof TENANT_INDEXED_TABLES)[number];

const tenantIndexed = (table: string): table is TenantIndexedTable =>
  (TENANT_INDEXED_TABLES as readonly string[]).includes(table);

/** The channel on which searches ask for a pending tenant index (payload: the space id); see `watchTenantIndexes`. */
export const TENANT_INDEX_CHANNEL = 'neonhub_tenant_indexes';

/** The notification asking the maintainer to index a space's tenants: sent at commit, names no tenant. */
const requestTenantIndex = (space: EmbeddingSpace) =>
  sql`select pg_notify(${TENANT_INDEX_CHANNEL}, ${space.id})`;

/** When this process last asked for each tenant's index of a space. */
const tenantIndexAsked = new Map<string, number>();
/** How long a tenant's next pending searches in this process leave the asking to the first. */
const TENANT_INDEX_ASK_MS = 60_000;
const TENANT_INDEX_ASKS = 10_000;

/**
 * The statements a search of a pending tenant index sends with it: {@link requestTenantIndex},
 * unless this process asked for the same tenant and space within the last minute. A NOTIFY takes,
 * at commit, a lock every other notifying commit on the server waits for (the run queue's enqueues
 * too), and a tenant the cap on tenant indexes leaves without one would send one at every search.
 */
export function tenantIndexRequests(space: EmbeddingSpace, organizationId: string): SQL[] {
  const key = `${space.id}:${organizationId}`;
  const now = Date.now();
  if (now - (tenantIndexAsked.get(key) ?? Number.NEGATIVE_INFINITY) < TENANT_INDEX_ASK_MS) return [];
  tenantIndexAsked.delete(key);
  tenantIndexAsked.set(key, now);
  if (tenantIndexAsked.size > TENANT_INDEX_ASKS)
    tenantIndexAsked.delete(tenantIndexAsked.keys().next().value as string);
  return [requestTenantIndex(space)];
}

type PlanRow = {
  candidates: number;
  index_tuples: number | null;
  checked: unknown;
};

/** The query's options, checked: the exact threshold, `ef_search` and the strategy wanted. */
export function nearestOptions(q: NearestQuery) {
  const threshold = Math.max(q.options.exactThreshold ?? defaultExactThreshold(q.space.dimensions), q.limit);
  if (!Number.isInteger(threshold) || threshold < 0)
    throw invalidInput(q.table, 'embedding', `exactThreshold must be an integer >= 0, got ${threshold}`);
  const efSearch = q.options.efSearch ?? defaultEfSearch(q.limit);
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000)
    throw invalidInput(q.table, 'embedding', `efSearch must be an integer from 1 to 1000, got ${efSearch}`);
  const wanted = q.options.strategy ?? 'auto';
  if (!['auto', 'exact', 'hnsw'].includes(wanted))
    throw invalidInput(q.table, 'embedding', `strategy must be auto, exact or hnsw, got ${String(wanted)}`);
  return { threshold, efSearch, wanted };
}

/** The HNSW settings of a plan: relaxed iterative scans, and no planner sort to prefer over the index. */
export const hnswSettings = (efSearch: number, maxScanTuples?: number) => ({
  'hnsw.iterative_scan': 'relaxed_order',
  'hnsw.ef_search': efSearch,
  ...(maxScanTuples === undefined ? {} : { 'hnsw.max_scan_tuples': maxScanTuples }),
  enable_sort: 'off',
});

/**
 * Chooses the path in one round trip (which also runs the caller's `check` look-up, if any): a
 * count of the candidates capped at the exact threshold ({@link countedCandidates}), and whether the HNSW index the table is searched through exists and is valid: the tenant's own
 * for {@link TENANT_INDEXED_TABLES}, else the space's. Exact when few rows match or no index is
 * valid (a tenant past the threshold whose index is not built yet is `tenantIndexPending`);
 * otherwise HNSW, with relaxed iterative scans, `ef_search`, `max_scan_tuples` sized for the
 * filter's selectivity, and `enable_sort = off`: the planner's cost model otherwise prefers
 * sorting every candidate of a broad filter, so the index is the only unpenalised path and the
 * plan executed is the one chosen here. The settings go with the statements ({@link withPlanSettings}).
 */
export async function planNearest(tx: Transaction, q: NearestQuery, check?: SQL): Promise<NearestPlan> {
  const { threshold, efSearch, wanted } = nearestOptions(q);
  q.organizationId ??= currentTenant(tx);
  const index: PlannedIndex = tenantIndexed(q.table) ? 'tenant' : 'space';
  const indexName =
    index === 'tenant'
      ? tenantIndexName(q.table, q.space.id, q.organizationId)
      : embeddingIndexName(q.table, q.space.id);
  const [row] = rowsOf<PlanRow>(
    await tx.execute(sql`
      with ${countedCandidates(q, threshold + 1)}
      select n as candidates, (select c.reltuples::float8 from pg_class c
               join pg_index i on i.indexrelid = c.oid where c.oid = to_regclass(${`public.${indexName}`}) and i.indisvalid) as index_tuples,
             ${check ?? sql`null`} as checked
      from counted`),
  );
  const candidates = Number(row?.candidates ?? 0);
  const checked = row?.checked;
  const indexTuples = row?.index_tuples ?? null;
  const exact = { strategy: 'exact' as const, candidates, checked, settings: {} };
  if (wanted === 'exact' || (wanted === 'auto' && candidates <= threshold)) return exact;
  // Mid-build, or a table added around registration: searched exactly until the index is valid.
  if (indexTuples === null)
    return { ...exact, tenantIndexPending: index === 'tenant' && candidates > threshold };
  // reltuples is -1 before the first ANALYZE; the count is then the best estimate there is.
  const indexed = Math.max(Number(indexTuples), candidates, 1);
  const maxScanTuples = Math.min(
    MAX_SCAN_TUPLES,
    Math.max(MIN_SCAN_TUPLES, Math.ceil((8 * q.limit * indexed) / Math.max(candidates, 1))),
  );
  return {
    strategy: 'hnsw',
    candidates,
    checked,
    efSearch,
    maxScanTuples,
    index,
    settings: hnswSettings(efSearch, maxScanTuples),
  };
}

/** The query vector as a halfvec literal: the column holds halves, and the shortest text of each keeps the result at a third of the bytes. */
export const queryVectorLiteral = (q: NearestQuery) =>
  sql`${halfvecLiteral(q.vector)}::halfvec(${sql.raw(String(q.space.dimensions))})`;

/**
 * `select id, distance ... order by distance limit n` for a plan. HNSW: the indexed expression
 * (`embedding::halfvec(D) <op> query`) under the partial index's predicate (the tenant's literal
 * too when it has its own index), so the index serves it; with relaxed order the caller re-sorts.
 * Exact: the uncast expression, which no index matches. `queryVector` is the query's expression
 * when the statement holds it once for several selects (default: its literal).
 */
export function nearestSql(q: NearestQuery, plan: NearestPlan, gate?: SQL, queryVector?: SQL): SQL {
  const op = sql.raw(distanceOperator(q.space.distance));
  const dims = sql.raw(String(q.space.dimensions));
  const against = queryVector ?? queryVectorLiteral(q);
  const distance =
    plan.strategy === 'hnsw'
      ? sql`(embedding::halfvec(${dims}) ${op} ${against})`
      : sql`(embedding ${op} ${against})`;
  const where = sql`${tenantCondition(q, plan)} and ${inSpace(q.space)} and ${q.filter}${gate ? sql` and ${gate}` : sql``}`;
  // An exact scan reads the candidates in their index's order (see NearestQuery.candidateOrder).
  const from =
    plan.strategy !== 'hnsw' && q.candidateOrder
      ? sql`(select id, embedding from ${sql.identifier(q.table)} where ${where} order by ${q.candidateOrder}) candidates`
      : sql`${sql.identifier(q.table)} where ${where}`;
  return sql`
    select id, ${distance} as distance
    from ${from}
    order by distance
    limit ${q.limit}`;
}
