import { describe, expect, it } from 'vitest';
import { permissionKeys } from '../src/security/permissions.ts';
import { foreignKeys, tenantTables } from './support/catalog.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

// Invariants read from the catalog, so tables added by later migrations are checked without edits here.
describe('catalog invariants', () => {
  it('every tenant table has row-level security enabled and forced, with a policy; partitions too', async () => {
    const { sql } = database.current;
    const tables = await tenantTables(sql);
    const rows = await sql.query<{
      name: string;
      enabled: boolean;
      forced: boolean;
      policies: number;
      partition: boolean;
    }>(
      `select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced, c.relispartition as partition,
              (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
       from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
         and (c.relname = any($1) or c.relispartition and exists (
           select from pg_inherits i join pg_class parent on parent.oid = i.inhparent
           where i.inhrelid = c.oid and parent.relname = any($1)))`,
      [tables],
    );
    const broken = rows.filter(
      (row) => !row.enabled || !row.forced || (!row.partition && row.policies === 0),
    );
    console.log(
      `rls: ${rows.filter((row) => !row.partition).length} tenant tables and ${rows.filter((row) => row.partition).length} partitions checked, ${broken.length} without forced RLS and a policy`,
    );
    expect(tables.length).toBeGreaterThanOrEqual(8);
    expect(broken).toEqual([]);
  });

  it('every unique constraint and index of a tenant table includes organization_id', async () => {
    const { sql } = database.current;
    const tables = (await tenantTables(sql)).filter((table) => table !== 'organizations');
    const uniques = await sql.query<{ table: string; index: string; includes: boolean }>(
      `select c.relname as table, i.relname as index,
              exists (select from unnest(x.indkey) k join pg_attribute a on a.attrelid = c.oid and a.attnum = k
                      where a.attname = 'organization_id') as includes
       from pg_index x join pg_class c on c.oid = x.indrelid join pg_class i on i.oid = x.indexrelid
       where x.indisunique and c.relname = any($1)`,
      [tables],
    );
    const broken = uniques
      .filter((unique) => !unique.includes)
      .map((unique) => `${unique.table}.${unique.index}`);
    console.log(
      `uniques: ${uniques.length} on ${tables.length} tenant tables, ${broken.length} without organization_id`,
    );
    expect(broken).toEqual([]);
  });

  it('every foreign key between tenant tables is composite with organization_id, and every foreign key is indexed', async () => {
    const { sql } = database.current;
    const tenant = new Set(await tenantTables(sql));
    const fks = await foreignKeys(sql);
    const notComposite = fks
      .filter(
        (fk) =>
          tenant.has(fk.table) && tenant.has(fk.referencedTable) && fk.referencedTable !== 'organizations',
      )
      .filter(
        (fk) => !fk.columns.includes('organization_id') || !fk.referencedColumns.includes('organization_id'),
      )
      .map((fk) => fk.name);
    const indexes = await sql.query<{ table: string; columns: string[] }>(
      `select c.relname as table,
              array(select a.attname::text from unnest(x.indkey) with ordinality k(attnum, i)
                    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum order by k.i) as columns
       from pg_index x join pg_class c on c.oid = x.indrelid
       where c.relnamespace = 'public'::regnamespace`,
    );
    // An index serves a foreign key when its leading columns are the key's columns, in any order.
    const unindexed = fks
      .filter(
        (fk) =>
          !indexes.some(
            (index) =>
              index.table === fk.table &&
              fk.columns.every((column) => index.columns.slice(0, fk.columns.length).includes(column)),
          ),
      )
      .map((fk) => fk.name);
    console.log(
      `foreign keys: ${fks.length} checked, ${notComposite.length} tenant references not composite, ${unindexed.length} unindexed`,
    );
    expect(notComposite).toEqual([]);
    expect(unindexed).toEqual([]);
  });

  it('neonhub_app owns nothing, cannot log in, cannot bypass row-level security', async () => {
    const { sql } = database.current;
    const [role] = await sql.query<{ super: boolean; bypass: boolean; login: boolean; owned: number }>(
      `select rolsuper as super, rolbypassrls as bypass, rolcanlogin as login,
              (select count(*)::int from pg_class where relowner = r.oid)
            + (select count(*)::int from pg_proc where proowner = r.oid)
            + (select count(*)::int from pg_type where typowner = r.oid)
            + (select count(*)::int from pg_namespace where nspowner = r.oid) as owned
       from pg_roles r where rolname = 'neonhub_app'`,
    );
    expect(role).toEqual({ super: false, bypass: false, login: false, owned: 0 });
    // DML only: no DDL in the schema, no TRUNCATE, REFERENCES or TRIGGER on any table.
    const [beyondDml] = await sql.query<{ tables: number; create: boolean }>(
      `select count(*)::int as tables, has_schema_privilege('neonhub_app', 'public', 'CREATE') as create
       from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
         and (has_table_privilege('neonhub_app', c.oid, 'TRUNCATE')
              or has_table_privilege('neonhub_app', c.oid, 'REFERENCES')
              or has_table_privilege('neonhub_app', c.oid, 'TRIGGER'))`,
    );
    expect(beyondDml).toEqual({ tables: 0, create: false });
  });

  it('every table with updated_at has the trigger that maintains it', async () => {
    const { sql } = database.current;
    const missing = await sql.query<{ table: string }>(
      `select c.relname as table from pg_class c
       join pg_attribute a on a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
         and not exists (select from pg_trigger t where t.tgrelid = c.oid and t.tgname = c.relname || '_touch_updated_at')`,
    );
    expect(missing).toEqual([]);
  });

  it('the permission catalog in the database is the one the package grants from', async () => {
    const { sql } = database.current;
    const rows = await sql.query<{ key: string }>('select key from permissions order by key collate "C"');
    expect(rows.map((row) => row.key)).toEqual([...permissionKeys].sort());
  });
});
