-- Audit guards drizzle-kit cannot express: the neonhub_definer role that owns the audit write
-- paths, the database-set created_at, the append / retention-anchor functions, and the grants
-- that leave neonhub_app reading its own trail and head but writing neither directly. The chain
-- is sealed with HMAC keys the database never sees (src/audit.ts); the database links and stamps.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neonhub_definer') THEN
    CREATE ROLE neonhub_definer NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
--> statement-breakpoint
-- The migrating role hands the definer functions to neonhub_definer (ALTER FUNCTION ... OWNER TO).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'neonhub_definer', 'MEMBER') THEN
    EXECUTE format('GRANT neonhub_definer TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_logs TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO neonhub_definer;
--> statement-breakpoint
-- The app role reads its own trail and head (tenant policies); every write goes through the definer path.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_logs, audit_chain_heads FROM neonhub_app;
--> statement-breakpoint
GRANT SELECT ON audit_logs, audit_chain_heads TO neonhub_app;
--> statement-breakpoint
-- The unkeyed chain is replaced: its trigger read audit_chain_heads from inside a shard and hashed
-- `NEW` as a row type, neither of which survives Citus, and anyone could recompute its hashes.
DROP TRIGGER IF EXISTS audit_logs_chain ON audit_logs;
--> statement-breakpoint
DROP FUNCTION IF EXISTS app_audit_chain();
--> statement-breakpoint
DROP FUNCTION IF EXISTS app_verify_audit_chain(uuid);
--> statement-breakpoint
DROP FUNCTION IF EXISTS app_audit_row_hash(bytea, audit_logs);
--> statement-breakpoint
-- created_at is the database's: whatever a caller sends, the row gets the transaction's time. A
-- backdated row would have to move to another partition, which PostgreSQL refuses outright.
CREATE OR REPLACE FUNCTION app_audit_stamp() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  NEW.created_at := transaction_timestamp();
  RETURN NEW;
END $$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS audit_logs_stamp ON audit_logs;
--> statement-breakpoint
CREATE TRIGGER audit_logs_stamp BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION app_audit_stamp();
--> statement-breakpoint
-- The bytes a row's seal covers (after prev_hash): every column a reader relies on, in a fixed
-- order and encoding. Columns are passed one by one, so it works on any table's row type.
CREATE OR REPLACE FUNCTION app_audit_message(
  organization_id uuid, seq bigint, id uuid, created_at timestamptz, actor_type audit_actor_type,
  actor_id uuid, actor_label text, action text, target_type text, target_id text, request_id text,
  ip inet, user_agent text, changes jsonb
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT convert_to(jsonb_build_array(
    $1, $2, $3, (extract(epoch FROM $4) * 1000000)::bigint, $5, $6, $7, $8, $9, $10, $11, host($12), $13, $14
  )::text, 'UTF8')
$$;
--> statement-breakpoint
-- Step one of an append: locks the tenant's head (appends of one organization queue here, other
-- tenants run in parallel) and hands out the next link; the caller seals it with its key.
CREATE OR REPLACE FUNCTION app_audit_prepare(org uuid)
RETURNS TABLE (id uuid, seq bigint, prev_hash bytea, created_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  head record;
BEGIN
  IF org IS NULL OR org IS DISTINCT FROM app_current_org_id() THEN
    RAISE EXCEPTION 'audit entries are appended to the current tenant only'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'audit_logs';
  END IF;
  INSERT INTO public.audit_chain_heads (organization_id, seq, hash)
  VALUES (org, 0, ''::bytea)
  ON CONFLICT (organization_id) DO NOTHING;
  SELECT h.seq, h.hash INTO head FROM public.audit_chain_heads h WHERE h.organization_id = org FOR UPDATE;
  id := uuidv7();
  seq := head.seq + 1;
  prev_hash := head.hash;
  created_at := transaction_timestamp();
  RETURN NEXT;
END $$;
--> statement-breakpoint
-- Step two: writes the sealed row and moves the head, only if it extends the head exactly (the
-- head lock from step one is still held). The seal itself cannot be checked here: no key.
CREATE OR REPLACE FUNCTION app_audit_append(
  org uuid, new_id uuid, new_seq bigint, new_prev_hash bytea, new_hash bytea, new_key_id text,
  new_actor_type audit_actor_type, new_actor_id uuid, new_actor_label text, new_action text,
  new_target_type text, new_target_id text, new_request_id text, new_ip inet, new_user_agent text,
  new_changes jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  head record;
BEGIN
  IF org IS NULL OR org IS DISTINCT FROM app_current_org_id() THEN
    RAISE EXCEPTION 'audit entries are appended to the current tenant only'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'audit_logs';
  END IF;
  IF new_hash IS NULL OR octet_length(new_hash) <> 32 OR new_key_id IS NULL THEN
    RAISE EXCEPTION 'an audit entry needs a 32-byte seal and the id of the key that made it'
      USING ERRCODE = 'check_violation', TABLE = 'audit_logs', COLUMN = 'hash';
  END IF;
  SELECT h.seq, h.hash INTO head FROM public.audit_chain_heads h WHERE h.organization_id = org FOR UPDATE;
  IF head.seq IS NULL OR new_seq IS DISTINCT FROM head.seq + 1 OR new_prev_hash IS DISTINCT FROM head.hash THEN
    RAISE EXCEPTION 'audit entry % does not extend the chain of organization % (head is at %)',
      new_seq, org, coalesce(head.seq, 0)
      USING ERRCODE = 'serialization_failure', TABLE = 'audit_chain_heads';
  END IF;
  INSERT INTO public.audit_logs (id, organization_id, seq, actor_type, actor_id, actor_label, action,
    target_type, target_id, request_id, ip, user_agent, changes, created_at, prev_hash, hash, key_id)
  VALUES (new_id, org, new_seq, new_actor_type, new_actor_id, new_actor_label, new_action,
    new_target_type, new_target_id, new_request_id, new_ip, new_user_agent, coalesce(new_changes, '{}'::jsonb),
    transaction_timestamp(), new_prev_hash, new_hash, new_key_id);
  UPDATE public.audit_chain_heads h SET seq = new_seq, hash = new_hash WHERE h.organization_id = org;
END $$;
--> statement-breakpoint
-- Retention, before dropping partitions that end on or before `cutoff`: per organization and
-- partition, the newest link it holds; the caller keeps the newest per organization as the sealed
-- anchor the kept trail starts from. Rows are picked by each partition's range, not by tableoid,
-- so the same statements select the same rows on Citus shards.
CREATE OR REPLACE FUNCTION app_audit_retention_points(cutoff timestamptz)
RETURNS TABLE (organization_id uuid, seq bigint, hash bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  p record;
BEGIN
  FOR p IN
    SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS lower_bound,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.audit_logs'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  LOOP
    CONTINUE WHEN p.upper_bound > cutoff;
    RETURN QUERY
    SELECT DISTINCT ON (l.organization_id) l.organization_id, l.seq, l.hash
    FROM public.audit_logs l
    WHERE l.created_at >= p.lower_bound AND l.created_at < p.upper_bound
    ORDER BY l.organization_id, l.seq DESC;
  END LOOP;
END $$;
--> statement-breakpoint
-- Records a sealed retention anchor; it only ever moves forward and never past the head.
CREATE OR REPLACE FUNCTION app_audit_set_anchor(org uuid, new_anchor_seq bigint, new_anchor_hash bytea,
  new_anchor_key_id text, new_anchor_seal bytea)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  UPDATE public.audit_chain_heads h
  SET anchor_seq = new_anchor_seq, anchor_hash = new_anchor_hash,
      anchor_key_id = new_anchor_key_id, anchor_seal = new_anchor_seal
  WHERE h.organization_id = org AND h.anchor_seq <= new_anchor_seq AND h.seq >= new_anchor_seq;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit anchor % for organization % is behind the current anchor or past the head',
      new_anchor_seq, org USING ERRCODE = 'check_violation', TABLE = 'audit_chain_heads';
  END IF;
END $$;
--> statement-breakpoint
ALTER FUNCTION app_audit_prepare(uuid) OWNER TO neonhub_definer;
--> statement-breakpoint
ALTER FUNCTION app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb) OWNER TO neonhub_definer;
--> statement-breakpoint
ALTER FUNCTION app_audit_retention_points(timestamptz) OWNER TO neonhub_definer;
--> statement-breakpoint
ALTER FUNCTION app_audit_set_anchor(uuid, bigint, bytea, text, bytea) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION app_audit_prepare(uuid),
  app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb),
  app_audit_retention_points(timestamptz),
  app_audit_set_anchor(uuid, bigint, bytea, text, bytea)
  FROM PUBLIC;
--> statement-breakpoint
-- Tenants append; only the owner (a member of neonhub_definer) runs retention.
GRANT EXECUTE ON FUNCTION app_audit_prepare(uuid),
  app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb)
  TO neonhub_app;
