import { type SQL, sql } from 'drizzle-orm';
import type { Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { tenantIndexName } from './embedding-spaces.ts';
import {
  countedCandidates,
  hnswSettings,
  type NearestPlan,
  type NearestQuery,
  nearestOptions,
  nearestSql,
  queryVectorLiteral,
} from './vector-query.ts';

// The search of a table searched through tenant indexes (chunks and their re-embedded vectors) as
// one statement: the choice planNearest makes in a round trip of its own, made inside it.

/** A search statement that chooses its path itself (see {@link oneStatementNearest}). */
export interface OneStatementNearest {
  /** `with` items ending in `nearest (id, distance)`: the candidate counts, the index checks, and every path. */
  ctes: SQL;
  /** The columns that say which path ran: `candidates` and `indexed`, and `also_candidates` and `also_indexed` for `alsoFrom`. */
  meta: SQL;
  settings: Record<string, string | number>;
  /** The plan the statement followed, read from its {@link OneStatementMeta} columns. */
  planOf(meta: OneStatementMeta): NearestPlan;
}

type Count = number | string | null;

/** The columns of {@link OneStatementNearest.meta}. */
export interface OneStatementMeta {
  candidates?: Count;
  indexed?: boolean | null;
  also_candidates?: Count;
  also_indexed?: boolean | null;
}

/**
 * For `TENANT_INDEXED_TABLES` (vector-query.ts): the choice `planNearest` makes, made inside the
 * search statement, so a search is one round trip. The capped count and the validity of the
 * tenant's index are materialized CTEs; the exact and the HNSW selects are both planned, each under
 * a condition on them alone, which PostgreSQL evaluates once before running the select (a one-time
 * filter), so only one runs. The HNSW settings go with every such statement; `max_scan_tuples`
 * stays at pgvector's default, never the limit here: a tenant's index is searched only for filters
 * matching more than the exact threshold, a large share of the rows it holds. With `alsoFrom`, that
 * table chooses its own path the same way, and the nearest rows of both are kept.
 */
export function oneStatementNearest(tx: Transaction, q: NearestQuery): OneStatementNearest {
  const { threshold, efSearch, wanted } = nearestOptions(q);
  q.organizationId ??= currentTenant(tx);
  const organizationId = q.organizationId;
  const exact: NearestPlan = { strategy: 'exact', candidates: 0, settings: {} };
  const hnsw: NearestPlan = { strategy: 'hnsw', candidates: 0, index: 'tenant', settings: {} };
  // Written once, read by every select: a statement with two tables holds four.
  const queryVector = sql`(select v from query_vector)`;
  // Each table's CTEs and columns carry its prefix: none for `table`, `also_` for `alsoFrom`.
  const side = (table: string, prefix: string) => {
    const t = { ...q, table };
    const counted = `${prefix}counted`;
    const own = `${prefix}own`;
    const indexName = `public.${tenantIndexName(table, q.space.id, organizationId)}`;
    const valid = sql`(select valid from ${sql.identifier(own)})`;
    const useIndex =
      wanted === 'hnsw'
        ? valid
        : sql`((select n from ${sql.identifier(counted)}) > ${threshold} and ${valid})`;
    return {
      ctes: sql`
      ${countedCandidates(t, threshold + 1, counted)},
      ${sql.identifier(own)} as materialized (
        select exists (select from pg_index i where i.indexrelid = to_regclass(${indexName}) and i.indisvalid) as valid
      )`,
      nearest:
        wanted === 'exact'
          ? sql`(${nearestSql(t, exact, undefined, queryVector)})`
          : sql`(${nearestSql(t, exact, sql`not ${useIndex}`, queryVector)}) union all (${nearestSql(t, hnsw, useIndex, queryVector)})`,
      meta: sql`(select n from ${sql.identifier(counted)}) as ${sql.identifier(`${prefix}candidates`)},
        ${valid} as ${sql.identifier(`${prefix}indexed`)}`,
    };
  };
  const sides = [side(q.table, ''), ...(q.alsoFrom ? [side(q.alsoFrom, 'also_')] : [])];
  const nearest =
    sides.length === 1
      ? sql.join(sides.map((s) => s.nearest))
      : sql`select id, distance from (${sql.join(
          sides.map((s) => s.nearest),
          sql` union all `,
        )}) both_tables order by distance limit ${q.limit}`;
  const settings = wanted === 'exact' ? {} : hnswSettings(efSearch);
  const sidePlan = (count: Count | undefined, indexed: boolean | null | undefined) => {
    const candidates = Number(count ?? 0);
    const useIndex = wanted !== 'exact' && indexed === true && (wanted === 'hnsw' || candidates > threshold);
    return {
      candidates,
      useIndex,
      pending: wanted !== 'exact' && candidates > threshold && indexed !== true,
    };
  };
  return {
    ctes: sql`query_vector as materialized (select ${queryVectorLiteral(q)} as v),
      ${sql.join(
        sides.map((s) => s.ctes),
        sql`,`,
      )},
      nearest as materialized (${nearest})`,
    meta: sql.join(
      sides.map((s) => s.meta),
      sql`, `,
    ),
    settings,
    planOf: (meta) => {
      const first = sidePlan(meta.candidates, meta.indexed);
      const also = q.alsoFrom ? sidePlan(meta.also_candidates, meta.also_indexed) : undefined;
      const candidates = first.candidates + (also?.candidates ?? 0);
      // A table searched exactly for want of its index asks for it, whatever the other one did.
      const pending = first.pending || also?.pending === true;
      if (first.useIndex || also?.useIndex)
        return {
          strategy: 'hnsw',
          candidates,
          efSearch,
          index: 'tenant',
          tenantIndexPending: pending,
          settings,
        };
      return { strategy: 'exact', candidates, tenantIndexPending: pending, settings: {} };
    },
  };
}
