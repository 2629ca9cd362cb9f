-- Bootstrap: extensions, id and timestamp defaults, the tenant role and setting, and the helpers
-- later migrations call for what drizzle-kit cannot express (FORCE RLS, triggers, grants, partitions).
CREATE EXTENSION IF NOT EXISTS vector;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
DO $$
DECLARE
  installed int[] := (SELECT string_to_array(split_part(extversion, '-', 1), '.')::int[] FROM pg_extension WHERE extname = 'vector');
BEGIN
  IF installed < ARRAY[0, 8] THEN
    RAISE EXCEPTION 'pgvector % is installed; NeonHub needs pgvector >= 0.8 (ALTER EXTENSION vector UPDATE, or the pgvector/pgvector docker image)', array_to_string(installed, '.');
  END IF;
END $$;
--> statement-breakpoint
-- PostgreSQL 18 has uuidv7() built in; older servers get the same function here (RFC 9562 layout).
DO $$
BEGIN
  IF to_regprocedure('uuidv7()') IS NULL THEN
    EXECUTE $fn$
      CREATE FUNCTION public.uuidv7() RETURNS uuid
      LANGUAGE sql VOLATILE PARALLEL SAFE
      AS $body$
        SELECT encode(
          set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
            52, 1), 53, 1),
          'hex')::uuid
      $body$
    $fn$;
  END IF;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
--> statement-breakpoint
-- The role tenant scopes switch to. Created once per cluster; a concurrent migrator of another
-- database of the same cluster may win the race, which is fine.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neonhub_app') THEN
    CREATE ROLE neonhub_app NOLOGIN NOBYPASSRLS NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
--> statement-breakpoint
-- The migrating role must be able to SET ROLE neonhub_app inside withTenant. A role without
-- CREATEROLE (or ADMIN on neonhub_app) cannot grant it to itself: an administrator does, once.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'neonhub_app', 'MEMBER') THEN
    EXECUTE format('GRANT neonhub_app TO %I', current_user);
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'cannot grant neonhub_app to %: an administrator runs GRANT neonhub_app TO % so its tenant scopes can switch role', current_user, current_user;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO neonhub_app;
--> statement-breakpoint
-- The tenant of the current transaction. Unset or empty (what a committed SET LOCAL leaves behind)
-- means no tenant, which every policy treats as "sees nothing"; a malformed value raises.
CREATE OR REPLACE FUNCTION app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.current_org_id', true), '')::uuid $$;
--> statement-breakpoint
-- The signed-in person of a user scope (`withUser`): lets them list their own memberships and
-- organizations before any tenant is chosen. Same unset/empty rules as the tenant setting.
CREATE OR REPLACE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.current_user_id', true), '')::uuid $$;
--> statement-breakpoint
-- Called at the end of every migration that adds tables. Idempotent. For each table in public:
--   * `updated_at` maintained by a trigger;
--   * RLS forced on tenant tables (an `organization_id` column, or the tenant root itself), so
--     not even the owner reads across tenants; global tables with RLS (users, Auth.js) stay
--     readable by the owner for sign-in flows and closed to neonhub_app;
--   * neonhub_app gets DML where a policy governs it, SELECT on tables without RLS (global
--     reference data), nothing on tables with RLS and no policy (Auth.js secrets) nor on partitions.
CREATE OR REPLACE FUNCTION app_install_table_hooks() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relispartition,
           EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped) AS has_updated_at,
           EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policy,
           c.relname = 'organizations' OR EXISTS (
             SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
           ) AS is_tenant_table
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  LOOP
    IF t.has_updated_at AND NOT t.relispartition AND NOT EXISTS (
      SELECT FROM pg_trigger WHERE tgrelid = t.oid AND tgname = t.relname || '_touch_updated_at'
    ) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION app_touch_updated_at()',
                     t.relname || '_touch_updated_at', t.relname);
    END IF;
    IF t.is_tenant_table AND t.relrowsecurity AND NOT t.relforcerowsecurity THEN
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
    END IF;
    IF t.relispartition THEN
      EXECUTE format('REVOKE ALL ON %I FROM neonhub_app', t.relname);
    ELSIF NOT t.relrowsecurity THEN
      EXECUTE format('GRANT SELECT ON %I TO neonhub_app', t.relname);
    ELSIF t.has_policy THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO neonhub_app', t.relname);
    ELSE
      EXECUTE format('REVOKE ALL ON %I FROM neonhub_app', t.relname);
    END IF;
  END LOOP;
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO neonhub_app;
END $$;
--> statement-breakpoint
-- Monthly range partitions: `<table>_pYYYY_MM` for [month, next month), RLS forced on each (a
-- partition queried directly must not bypass its parent's policy), append-only guards copied.
CREATE OR REPLACE FUNCTION app_create_monthly_partition(parent regclass, month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = parent);
  from_month date := date_trunc('month', month)::date;
  partition_name text := format('%s_p%s', parent_name, to_char(from_month, 'YYYY_MM'));
BEGIN
  IF to_regclass(partition_name) IS NOT NULL THEN
    RETURN partition_name;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                 partition_name, parent_name, from_month::timestamptz, (from_month + interval '1 month')::timestamptz);
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', partition_name);
  EXECUTE format('REVOKE ALL ON %I FROM neonhub_app', partition_name);
  IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = parent AND tgname = parent_name || '_refuse_truncate') THEN
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change()',
                   partition_name || '_refuse_truncate', partition_name);
  END IF;
  RETURN partition_name;
END $$;
--> statement-breakpoint
-- Partitions from `months_back` before the current month to `months_ahead` after it, plus the
-- default partition that catches anything outside them. Safe to run daily.
CREATE OR REPLACE FUNCTION app_ensure_monthly_partitions(parent regclass, months_back int DEFAULT 1, months_ahead int DEFAULT 3)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = parent);
  created int := 0;
  m int;
BEGIN
  FOR m IN -months_back..months_ahead LOOP
    IF to_regclass(format('%s_p%s', parent_name, to_char(date_trunc('month', now()) + make_interval(months => m), 'YYYY_MM'))) IS NULL THEN
      PERFORM app_create_monthly_partition(parent, (date_trunc('month', now()) + make_interval(months => m))::date);
      created := created + 1;
    END IF;
  END LOOP;
  IF to_regclass(parent_name || '_default') IS NULL THEN
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', parent_name || '_default', parent_name);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', parent_name || '_default');
    EXECUTE format('REVOKE ALL ON %I FROM neonhub_app', parent_name || '_default');
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = parent AND tgname = parent_name || '_refuse_truncate') THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change()',
                     parent_name || '_default_refuse_truncate', parent_name || '_default');
    END IF;
    created := created + 1;
  END IF;
  RETURN created;
END $$;
--> statement-breakpoint
-- Retention: detach and drop every monthly partition that ends on or before `cutoff`. Whole
-- partitions only, so append-only row guards never fire. Returns the dropped partition names.
CREATE OR REPLACE FUNCTION app_drop_partitions_before(parent regclass, cutoff timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  FOR p IN
    SELECT c.relname,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    ORDER BY 2
  LOOP
    IF p.upper_bound <= cutoff THEN
      EXECUTE format('ALTER TABLE %s DETACH PARTITION %I', parent, p.relname);
      EXECUTE format('DROP TABLE %I', p.relname);
      RETURN NEXT p.relname;
    END IF;
  END LOOP;
END $$;
--> statement-breakpoint
-- Guard for append-only tables: raised for UPDATE, DELETE and TRUNCATE, whoever asks.
CREATE OR REPLACE FUNCTION app_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
END $$;
--> statement-breakpoint
-- Turns a freshly created, empty table into one partitioned by month on `column_name`, keeping
-- its columns, defaults, constraints, indexes, policies and RLS flags under the same names.
CREATE OR REPLACE FUNCTION app_partition_by_month(target regclass, column_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  table_name text := (SELECT relname FROM pg_class WHERE oid = target);
  staging text := table_name || '_unpartitioned';
  rls boolean;
  force_rls boolean;
  constraint_defs text[];
  index_defs text[];
  policy_defs text[];
  def text;
BEGIN
  EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', target) INTO rls;
  IF NOT rls THEN
    RAISE EXCEPTION '% is not empty; only a new table can be partitioned in place', table_name;
  END IF;
  SELECT relrowsecurity, relforcerowsecurity INTO rls, force_rls FROM pg_class WHERE oid = target;
  SELECT coalesce(array_agg(format('ALTER TABLE %I ADD CONSTRAINT %I %s', table_name, conname, pg_get_constraintdef(oid)) ORDER BY contype DESC, conname), '{}')
    INTO constraint_defs FROM pg_constraint WHERE conrelid = target AND contype IN ('p', 'u', 'c', 'f', 'x');
  SELECT coalesce(array_agg(regexp_replace(pg_get_indexdef(indexrelid), ' ON (ONLY )?\S+ USING ', format(' ON %I USING ', table_name))), '{}')
    INTO index_defs FROM pg_index
    WHERE indrelid = target AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid AND conrelid = target);
  SELECT coalesce(array_agg(format('CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s', policyname, table_name, permissive, cmd,
                           array_to_string(roles, ', '),
                           CASE WHEN qual IS NOT NULL THEN ' USING (' || qual || ')' ELSE '' END,
                           CASE WHEN with_check IS NOT NULL THEN ' WITH CHECK (' || with_check || ')' ELSE '' END)), '{}')
    INTO policy_defs FROM pg_policies WHERE schemaname = 'public' AND tablename = table_name;

  EXECUTE format('ALTER TABLE %I RENAME TO %I', table_name, staging);
  EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                 table_name, staging, column_name);
  EXECUTE format('DROP TABLE %I', staging);
  FOREACH def IN ARRAY constraint_defs LOOP EXECUTE def; END LOOP;
  FOREACH def IN ARRAY index_defs LOOP EXECUTE def; END LOOP;
  FOREACH def IN ARRAY policy_defs LOOP EXECUTE def; END LOOP;
  IF rls THEN EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name); END IF;
  IF force_rls THEN EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', table_name); END IF;
END $$;
