import type { RawSql } from '../../src/client/client.ts';

/** Tenant tables found from the catalog: an `organization_id` column, or the tenant root itself. */
export async function tenantTables(sql: RawSql): Promise<string[]> {
  const rows = await sql.query<{ name: string }>(`
    select c.relname as name
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
      and (c.relname = 'organizations' or exists (
        select from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped))
    order by 1`);
  return rows.map((row) => row.name);
}

/**
 * Tenant tables no tenant scope may read, not even its own rows: every policy on them is for
 * `neonhub_definer` (the tenant key verifiers).
 */
export async function definerOnlyTables(sql: RawSql): Promise<string[]> {
  const rows = await sql.query<{ name: string }>(`
    select c.relname as name
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
      and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped)
      and exists (select from pg_policy p where p.polrelid = c.oid)
      and not exists (select from pg_policy p where p.polrelid = c.oid
                      and p.polroles <> array[(select oid from pg_roles where rolname = 'neonhub_definer')])
    order by 1`);
  return rows.map((row) => row.name);
}

/** Columns a copied row can be re-inserted with (generated columns are computed, not written). */
export async function insertableColumns(sql: RawSql, table: string): Promise<string[]> {
  const rows = await sql.query<{ name: string }>(
    `select attname as name from pg_attribute
     where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = '' and attidentity = ''
     order by attnum`,
    [table],
  );
  return rows.map((row) => row.name);
}

export interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
}

export async function foreignKeys(sql: RawSql): Promise<ForeignKey[]> {
  return sql.query<ForeignKey & Record<string, unknown>>(`
    select con.conname as name, child.relname as "table",
           array(select a.attname::text from unnest(con.conkey) with ordinality k(attnum, i)
                 join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.i) as columns,
           parent.relname as "referencedTable",
           array(select a.attname::text from unnest(con.confkey) with ordinality k(attnum, i)
                 join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.i) as "referencedColumns"
    from pg_constraint con
    join pg_class child on child.oid = con.conrelid
    join pg_class parent on parent.oid = con.confrelid
    where con.contype = 'f' and child.relnamespace = 'public'::regnamespace and not child.relispartition
      and con.conparentid = 0
    order by 2, 1`);
}
