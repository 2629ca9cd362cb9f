import type { RawSql } from '../client/client.ts';

/** What `app_install_table_hooks()` gives a table and drizzle-kit cannot: missing pieces, per tenant table. */
export interface TableHookGap {
  table: string;
  missing: string[];
}

/**
 * Tenant tables (an `organization_id` column, or `organizations` itself) that a tenant scope could
 * not use safely: RLS not enabled or not forced, no policy, no `updated_at` trigger where the
 * column exists, or not the DML `app_install_table_hooks()` grants `neonhub_app`: all four where a
 * policy lets it write, SELECT where its policies only read (the audit trail), UPDATE of some
 * columns counting (an organization's id, a membership's person are never granted), no INSERT into
 * memberships and no INSERT or DELETE of organizations (the definer functions do those), and nothing
 * where only neonhub_definer's policies apply (the tenant key verifiers). Empty when complete.
 */
export async function findTableHookGaps(sql: RawSql): Promise<TableHookGap[]> {
  const rows = await sql.query<{
    table: string;
    rls: boolean;
    forced: boolean;
    policies: number;
    has_updated_at: boolean;
    has_trigger: boolean;
    missing_privileges: string[] | string | null;
  }>(
    `with app as (select oid from pg_roles where rolname = 'neonhub_app'),
     tenant as (
       select c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity,
              exists (select from pg_policy p, app where p.polrelid = c.oid and p.polcmd <> 'r'
                        and (0 = any (p.polroles) or app.oid = any (p.polroles))) as writable,
              exists (select from pg_policy p, app where p.polrelid = c.oid
                        and (0 = any (p.polroles) or app.oid = any (p.polroles))) as scoped
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
          and (c.relname = 'organizations' or exists (
                select from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped)))
     select t.relname as table, t.relrowsecurity as rls, t.relforcerowsecurity as forced,
            (select count(*)::int from pg_policy p where p.polrelid = t.oid) as policies,
            exists (select from pg_attribute a where a.attrelid = t.oid and a.attname = 'updated_at' and not a.attisdropped) as has_updated_at,
            exists (select from pg_trigger g where g.tgrelid = t.oid and g.tgname = t.relname || '_touch_updated_at') as has_trigger,
            array(select p from unnest(case when not t.scoped then array[]::text[]
                                       when t.writable then
                                         case when t.relname = 'memberships' then array['SELECT', 'UPDATE', 'DELETE']
                                              when t.relname = 'organizations' then array['SELECT', 'UPDATE']
                                              else array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] end
                                       else array['SELECT'] end) p
                   where not (case when p = 'UPDATE' then has_any_column_privilege('neonhub_app', t.oid, p)
                                   else has_table_privilege('neonhub_app', t.oid, p) end)) as missing_privileges
       from tenant t
      order by t.relname`,
  );
  const gaps: TableHookGap[] = [];
  for (const row of rows) {
    const missing: string[] = [];
    if (!row.rls) missing.push('row-level security not enabled');
    else if (!row.forced) missing.push('row-level security not forced');
    if (row.policies === 0) missing.push('no policy');
    if (row.has_updated_at && !row.has_trigger) missing.push(`no ${row.table}_touch_updated_at trigger`);
    const privileges = parsePgArray(row.missing_privileges);
    if (privileges.length > 0) missing.push(`no ${privileges.join(', ')} grant for neonhub_app`);
    if (missing.length > 0) gaps.push({ table: row.table, missing });
  }
  return gaps;
}

// postgres.js returns text[] as an array; PGlite may return the literal `{A,B}`.
function parsePgArray(value: string[] | string | null): string[] {
  if (Array.isArray(value)) return value;
  if (!value || value === '{}') return [];
  return value.replace(/^\{|\}$/g, '').split(',');
}

/** One line per table, for errors and the CLI. */
export const describeTableHookGaps = (gaps: TableHookGap[]) =>
  gaps.map((gap) => `${gap.table}: ${gap.missing.join('; ')}`).join('\n');

/**
 * Whether a generated migration adds or changes what the hooks cover (tables, RLS, policies,
 * `updated_at` or `organization_id` columns), so it needs a `SELECT app_install_table_hooks();` step.
 */
export const migrationNeedsTableHooks = (migrationSql: string) =>
  /\bCREATE TABLE\b|\bENABLE ROW LEVEL SECURITY\b|\bCREATE POLICY\b|\bADD COLUMN "(updated_at|organization_id)"/i.test(
    migrationSql,
  );

/** The body of the custom migration that `neonhub-db generate` adds after such a migration. */
export const tableHooksMigration = (after: string) =>
  `-- Tables of ${after}: forced RLS, updated_at triggers and neonhub_app grants (drizzle-kit cannot express them).\nSELECT app_install_table_hooks();\n`;
