-- Guards that hold on one server and on Citus shards alike. On a shard a trigger sees the shard's
-- name in TG_TABLE_NAME and the shard's row type in NEW, and cannot query another distributed
-- table; Citus refuses ON DELETE SET NULL on a key that includes organization_id.

-- The eight column-list SET NULL references become plain composite references: a row still never
-- points at another tenant's parent, and the package's delete functions clear the references first.
ALTER TABLE training_jobs DROP CONSTRAINT training_jobs_output_model_version_id_fkey;
--> statement-breakpoint
ALTER TABLE training_jobs ADD CONSTRAINT training_jobs_output_model_version_id_fkey
  FOREIGN KEY (organization_id, output_model_version_id) REFERENCES model_versions (organization_id, id);
--> statement-breakpoint
ALTER TABLE agents DROP CONSTRAINT agents_brand_id_fkey;
--> statement-breakpoint
ALTER TABLE agents ADD CONSTRAINT agents_brand_id_fkey
  FOREIGN KEY (organization_id, brand_id) REFERENCES brands (organization_id, id);
--> statement-breakpoint
ALTER TABLE conversations DROP CONSTRAINT conversations_brand_id_fkey;
--> statement-breakpoint
ALTER TABLE conversations ADD CONSTRAINT conversations_brand_id_fkey
  FOREIGN KEY (organization_id, brand_id) REFERENCES brands (organization_id, id);
--> statement-breakpoint
ALTER TABLE conversations DROP CONSTRAINT conversations_agent_id_fkey;
--> statement-breakpoint
ALTER TABLE conversations ADD CONSTRAINT conversations_agent_id_fkey
  FOREIGN KEY (organization_id, agent_id) REFERENCES agents (organization_id, id);
--> statement-breakpoint
ALTER TABLE agent_runs DROP CONSTRAINT agent_runs_conversation_id_fkey;
--> statement-breakpoint
ALTER TABLE agent_runs ADD CONSTRAINT agent_runs_conversation_id_fkey
  FOREIGN KEY (organization_id, conversation_id) REFERENCES conversations (organization_id, id);
--> statement-breakpoint
ALTER TABLE messages DROP CONSTRAINT messages_run_id_fkey;
--> statement-breakpoint
ALTER TABLE messages ADD CONSTRAINT messages_run_id_fkey
  FOREIGN KEY (organization_id, run_id) REFERENCES agent_runs (organization_id, id);
--> statement-breakpoint
ALTER TABLE connectors DROP CONSTRAINT connectors_credential_id_fkey;
--> statement-breakpoint
ALTER TABLE connectors ADD CONSTRAINT connectors_credential_id_fkey
  FOREIGN KEY (organization_id, credential_id) REFERENCES credentials (organization_id, id);
--> statement-breakpoint
ALTER TABLE tasks DROP CONSTRAINT tasks_assignee_membership_id_fkey;
--> statement-breakpoint
ALTER TABLE tasks ADD CONSTRAINT tasks_assignee_membership_id_fkey
  FOREIGN KEY (organization_id, assignee_membership_id) REFERENCES memberships (organization_id, id);
--> statement-breakpoint
-- The guarded table's name comes from the trigger's argument, not TG_TABLE_NAME (a shard's name on Citus).
CREATE OR REPLACE FUNCTION app_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is refused', TG_ARGV[0], TG_OP
    USING ERRCODE = 'insufficient_privilege', TABLE = TG_ARGV[0], SCHEMA = TG_TABLE_SCHEMA;
END $$;
--> statement-breakpoint
DROP TRIGGER agent_configs_refuse_change ON agent_configs;
--> statement-breakpoint
CREATE TRIGGER agent_configs_refuse_change BEFORE UPDATE OR DELETE ON agent_configs
  FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION app_refuse_change('agent_configs');
--> statement-breakpoint
DROP TRIGGER content_versions_refuse_update ON content_versions;
--> statement-breakpoint
CREATE TRIGGER content_versions_refuse_update BEFORE UPDATE ON content_versions
  FOR EACH ROW EXECUTE FUNCTION app_refuse_change('content_versions');
--> statement-breakpoint
DROP TRIGGER audit_logs_refuse_update_delete ON audit_logs;
--> statement-breakpoint
CREATE TRIGGER audit_logs_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION app_refuse_change('audit_logs');
--> statement-breakpoint
-- TRUNCATE triggers are not inherited: the parent and each existing partition get theirs again.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT tg.tgname, c.relname, coalesce(parent.relname, c.relname) AS guarded
    FROM pg_trigger tg
    JOIN pg_class c ON c.oid = tg.tgrelid
    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
    LEFT JOIN pg_class parent ON parent.oid = i.inhparent
    WHERE tg.tgfoid = 'app_refuse_change()'::regprocedure AND tg.tgname LIKE '%\_refuse\_truncate'
  LOOP
    EXECUTE format('DROP TRIGGER %I ON public.%I', t.tgname, t.relname);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change(%L)',
                   t.tgname, t.relname, t.guarded);
  END LOOP;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_create_monthly_partition(parent regclass, month date) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = parent);
  from_month date := date_trunc('month', month)::date;
  partition_name text := format('%s_p%s', parent_name, to_char(from_month, 'YYYY_MM'));
BEGIN
  IF to_regclass(format('public.%I', partition_name)) IS NOT NULL THEN
    RETURN partition_name;
  END IF;
  EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                 partition_name, parent_name, from_month::timestamptz, (from_month + interval '1 month')::timestamptz);
  EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', partition_name);
  EXECUTE format('REVOKE ALL ON public.%I FROM neonhub_app', partition_name);
  IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = parent AND tgname = parent_name || '_refuse_truncate') THEN
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change(%L)',
                   partition_name || '_refuse_truncate', partition_name, parent_name);
  END IF;
  RETURN partition_name;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_ensure_monthly_partitions(parent regclass, months_back int DEFAULT 1, months_ahead int DEFAULT 3)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = parent);
  default_name text := parent_name || '_default';
  created int := 0;
  m int;
BEGIN
  FOR m IN -months_back..months_ahead LOOP
    IF to_regclass(format('public.%I', format('%s_p%s', parent_name, to_char(date_trunc('month', now()) + make_interval(months => m), 'YYYY_MM')))) IS NULL THEN
      PERFORM app_create_monthly_partition(parent, (date_trunc('month', now()) + make_interval(months => m))::date);
      created := created + 1;
    END IF;
  END LOOP;
  IF to_regclass(format('public.%I', default_name)) IS NULL THEN
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', default_name, parent_name);
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', default_name);
    EXECUTE format('REVOKE ALL ON public.%I FROM neonhub_app', default_name);
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = parent AND tgname = parent_name || '_refuse_truncate') THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change(%L)',
                     default_name || '_refuse_truncate', default_name, parent_name);
    END IF;
    created := created + 1;
  END IF;
  RETURN created;
END $$;
--> statement-breakpoint
-- A content version is deleted only by the cascade from its item or organization, which runs
-- inside the referential trigger (depth >= 1, on a shard too); a direct DELETE is refused.
DROP TRIGGER content_versions_refuse_delete ON content_versions;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_content_versions_refuse_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'content_versions is immutable: DELETE is refused (delete or archive the content item instead)'
    USING ERRCODE = 'insufficient_privilege', TABLE = 'content_versions', SCHEMA = TG_TABLE_SCHEMA;
END $$;
--> statement-breakpoint
CREATE TRIGGER content_versions_refuse_delete BEFORE DELETE ON content_versions
  FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION app_content_versions_refuse_delete();
--> statement-breakpoint
-- Status transitions name their table literally: TG_TABLE_NAME is a shard's name on Citus.
CREATE OR REPLACE FUNCTION app_agent_run_transition() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
       (OLD.status = 'queued' AND NEW.status IN ('running', 'cancelled', 'failed', 'timed_out'))
    OR (OLD.status = 'running' AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))
  ) THEN
    RAISE EXCEPTION 'agent run % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'agent_runs_status_transition_check',
            TABLE = 'agent_runs', SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'status';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_tool_execution_transition() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'running' THEN
    RAISE EXCEPTION 'tool execution % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'tool_executions_status_transition_check',
            TABLE = 'tool_executions', SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'status';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
-- A/B weights move onto the ab_tests row (variant_weights), guarded by CHECKs through IMMUTABLE
-- functions that read only the row: the deferred triggers that summed the variants read another table.
DROP TRIGGER ab_tests_weights_check ON ab_tests;
--> statement-breakpoint
DROP TRIGGER ab_test_variants_weights_check ON ab_test_variants;
--> statement-breakpoint
DROP FUNCTION app_check_ab_test_weights();
--> statement-breakpoint
-- A weight map is an object of variant keys to integer percentages (0 to 100).
CREATE OR REPLACE FUNCTION app_ab_test_weights_valid(weights jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT jsonb_typeof(weights) = 'object' AND NOT EXISTS (
    SELECT FROM jsonb_each(weights) AS w(key, weight)
    WHERE w.key !~ '^[A-Za-z0-9_-]{1,40}$' OR jsonb_typeof(w.weight) <> 'number'
       OR w.weight::numeric NOT BETWEEN 0 AND 100 OR w.weight::numeric <> trunc(w.weight::numeric)
  )
$$;
--> statement-breakpoint
-- What a running test needs: at least two variants whose weights add up to 100.
CREATE OR REPLACE FUNCTION app_ab_test_weights_ready(weights jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT jsonb_typeof(weights) = 'object'
     AND (SELECT count(*) FROM jsonb_each(weights)) >= 2
     AND (SELECT coalesce(sum(w.weight::numeric), 0) FROM jsonb_each(weights) AS w(key, weight)
          WHERE jsonb_typeof(w.weight) = 'number') = 100
$$;
--> statement-breakpoint
-- Each test's split, from its variants' weights (the weight column goes in the next migration).
UPDATE ab_tests t SET variant_weights = w.weights
FROM (
  SELECT v.organization_id, v.ab_test_id, jsonb_object_agg(v.key, v.weight) AS weights
  FROM ab_test_variants v
  GROUP BY v.organization_id, v.ab_test_id
) w
WHERE w.organization_id = t.organization_id AND w.ab_test_id = t.id;
--> statement-breakpoint
-- One clock for an audit row: app_audit_append (definer_paths) sets created_at in the coordinator's
-- transaction, where the prepare step read it for the seal. This stamp trigger ran on the shard,
-- whose transaction starts later, so the stored time differed from the sealed one. Appends go
-- through the definer only, and the seal covers created_at, so a backdated row fails verification.
-- (app_touch_updated_at also reads the shard's clock on Citus: fine, nothing seals or compares updated_at.)
DROP TRIGGER audit_logs_stamp ON audit_logs;
--> statement-breakpoint
DROP FUNCTION app_audit_stamp();
