// Reading EXPLAIN (analyze, buffers, format json) output: what a statement read and through which indexes.

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
