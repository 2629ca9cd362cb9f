// What a statement read and through which indexes: EXPLAIN (analyze, buffers, format json) output,
// and the session's own counts of a table's pages.

import type { RawSql } from '../../src/client/client.ts';

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
