// What a statement read and through which indexes: EXPLAIN (analyze, buffers, format json) output,
// and the session's own counts of a table's pages.

import type { Database, RawSql } from '../../src/client/client.ts';
import { runtimeOf } from '../../src/client/scope-runtime.ts';

export type PlanNode = {
  'Node Type'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  'Index Name'?: string;
  Plans?: PlanNode[];
};

/** The plan of an EXPLAIN (format json) row, as the server or the embedded database returns it. */
export function planOf(row: { 'QUERY PLAN': unknown } | undefined): PlanNode {
  const raw = row?.['QUERY PLAN'];
  return ((typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PlanNode }])[0].Plan;
}

/** Pages the node read, from the cache or not. */
export const pagesOf = (plan: PlanNode) => plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];

/** Every index the plan reads, top down. */
export const indexesOf = (plan: PlanNode): string[] => [
  ...(plan['Index Name'] ? [plan['Index Name']] : []),
  ...(plan.Plans ?? []).flatMap(indexesOf),
];

/** Every node of the plan, top down (subplans included). */
export const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];

/**
 * What `call` returns and the pages of `table` and its indexes it read, from the session's own
 * pending statistics in one transaction: not the catalog pages a backend reloads inside a call when
 * other databases' DDL resets its caches (about 2,300 at once, which a whole call's buffers count).
 */
export async function withPagesRead<T>(
  session: RawSql,
  table: string,
  call: () => Promise<T>,
): Promise<{ result: T; pages: number }> {
  const pagesRead = async () => {
    const [row] = await session.query<{ pages: string }>(
      `select sum(pg_stat_get_xact_blocks_fetched(c.oid))::text as pages from pg_class c
       where c.oid = $1::regclass or c.oid in (select i.indexrelid from pg_index i where i.indrelid = $1::regclass)`,
      [table],
    );
    return Number(row?.pages);
  };
  await session.query('begin');
  try {
    const before = await pagesRead();
    const result = await call();
    const pages = (await pagesRead()) - before;
    await session.query('commit');
    return { result, pages };
  } catch (error) {
    await session.query('rollback');
    throw error;
  }
}

/** A worker's claim of up to `limit` runs of `kind` in `session`: the runs it claimed and the pages of agent_runs it read. */
export async function countedClaim(db: Database, session: RawSql, kind: string, limit: number) {
  const { issued, proof } = await runtimeOf(db).keys.runQueueProof('claim');
  const { result: rows, pages } = await withPagesRead(session, 'agent_runs', () =>
    session.query<{ run_id: string | null }>(
      'select run_id from public.app_claim_runs_next($1::agent_kind[], $2::integer, 60, null, $3::bigint, $4::bytea)',
      [`{${kind}}`, limit, issued, proof],
    ),
  );
  // The claimed runs, then one row that says when the next is due.
  return { runs: rows.filter((row) => row.run_id !== null).length, pages };
}
