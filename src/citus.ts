import type { RawSql } from './client.ts';

export interface DistributionStep {
  table: string;
  /**
   * `reference`: copied to every node (global tables); `distributed`: sharded by the tenant;
   * `drop-constraint` / `add-constraint`: a reference that closes a cycle (an agent and its current
   * config), set aside while its tables are distributed and put back after.
   */
  kind: 'reference' | 'distributed' | 'drop-constraint' | 'add-constraint';
  sql: string;
}

type Reference = { name: string; table: string; referenced: string; definition: string };

/**
 * The Citus plan for this schema, read from the catalog so tables added later are covered: global
 * tables become reference tables, the tenant root is distributed by `id`, and every tenant table
 * by `organization_id`, co-located with it, so one tenant's rows share a shard and every composite
 * reference stays local. Referenced tables come before their referrers.
 */
export async function citusDistributionPlan(sql: RawSql): Promise<DistributionStep[]> {
  const tables = await sql.query<{ name: string; tenant: boolean }>(`
    select c.relname as name,
           c.relname = 'organizations' or exists (
             select from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped
           ) as tenant
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`);
  const references = await sql.query<Reference & Record<string, unknown>>(`
    select f.conname as name, c.relname as table, p.relname as referenced, pg_get_constraintdef(f.oid) as definition
    from pg_constraint f join pg_class c on c.oid = f.conrelid join pg_class p on p.oid = f.confrelid
    where f.contype = 'f' and f.conparentid = 0 and c.relnamespace = 'public'::regnamespace and f.confrelid <> f.conrelid
    order by f.conname`);
  const ordered: string[] = [];
  const placed = new Set<string>();
  const cycles: Reference[] = [];
  const place = (table: string, path: string[]) => {
    if (placed.has(table)) return;
    for (const reference of references.filter((r) => r.table === table)) {
      if ([...path, table].includes(reference.referenced)) cycles.push(reference);
      else place(reference.referenced, [...path, table]);
    }
    placed.add(table);
    ordered.push(table);
  };
  // Reference tables first: distributed tables may point at them, never the other way round.
  for (const table of tables) if (!table.tenant) place(table.name, []);
  place('organizations', []);
  for (const table of tables) place(table.name, []);
  const tenant = new Set(tables.filter((table) => table.tenant).map((table) => table.name));
  const distribute = ordered.map((table): DistributionStep => {
    if (!tenant.has(table))
      return { table, kind: 'reference', sql: `SELECT create_reference_table('${table}');` };
    const column = table === 'organizations' ? 'id' : 'organization_id';
    const colocate = table === 'organizations' ? '' : `, colocate_with => 'organizations'`;
    return {
      table,
      kind: 'distributed',
      sql: `SELECT create_distributed_table('${table}', '${column}'${colocate});`,
    };
  });
  return [
    ...cycles.map(
      (r): DistributionStep => ({
        table: r.table,
        kind: 'drop-constraint',
        sql: `ALTER TABLE ${r.table} DROP CONSTRAINT ${r.name};`,
      }),
    ),
    ...distribute,
    ...cycles.map(
      (r): DistributionStep => ({
        table: r.table,
        kind: 'add-constraint',
        sql: `ALTER TABLE ${r.table} ADD CONSTRAINT ${r.name} ${r.definition};`,
      }),
    ),
  ];
}
