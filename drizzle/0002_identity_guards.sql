-- Identity guards drizzle-kit cannot express: the permission catalog, the audit trail's monthly
-- partitions, append-only guards and hash chain, the API-key lookup path, and the table hooks.
INSERT INTO permissions (key, description) VALUES
  ('organization:read', 'See the organization and its settings'),
  ('organization:update', 'Change the organization name, slug, region and settings'),
  ('organization:delete', 'Delete or restore the organization'),
  ('members:read', 'List members and invitations'),
  ('members:invite', 'Invite people into the organization'),
  ('members:update', 'Change a member''s role or status'),
  ('members:remove', 'Remove a member'),
  ('roles:read', 'List roles and their permissions'),
  ('roles:manage', 'Create, change and delete custom roles'),
  ('api_keys:read', 'List API keys (never their secrets)'),
  ('api_keys:manage', 'Create and revoke API keys'),
  ('credentials:read', 'List connector credentials (never their secrets)'),
  ('credentials:manage', 'Add, rotate and remove connector credentials'),
  ('audit_logs:read', 'Read the audit trail'),
  ('brands:read', 'See brands and brand voices'),
  ('brands:write', 'Create and change brands and brand voices'),
  ('agents:read', 'See agents, configs and runs'),
  ('agents:write', 'Create and configure agents and tools'),
  ('agents:run', 'Start agent runs'),
  ('conversations:read', 'Read conversations'),
  ('conversations:write', 'Start conversations and send messages'),
  ('datasets:read', 'See datasets, documents and search them'),
  ('datasets:write', 'Create datasets and ingest documents'),
  ('content:read', 'See content items and versions'),
  ('content:write', 'Draft and edit content'),
  ('content:publish', 'Approve and publish content'),
  ('campaigns:read', 'See campaigns and their metrics'),
  ('campaigns:write', 'Create and change campaigns'),
  ('billing:read', 'See subscription, invoices and usage'),
  ('billing:manage', 'Change plan and payment details'),
  ('integrations:read', 'See connectors'),
  ('integrations:manage', 'Connect and disconnect providers'),
  ('tasks:read', 'See tasks and feedback'),
  ('tasks:write', 'Create and change tasks and feedback')
ON CONFLICT (key) DO UPDATE SET description = EXCLUDED.description;
--> statement-breakpoint
-- Closed to neonhub_app (no policy, no grant); the owner keeps using them for sign-in flows.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE verification_tokens ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE authenticators ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
SELECT app_partition_by_month('audit_logs', 'created_at');
--> statement-breakpoint
-- Guards go on the partitioned parent before any partition exists, so every partition gets them.
CREATE TRIGGER audit_logs_refuse_update_delete BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION app_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_logs_refuse_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change();
--> statement-breakpoint
-- The bytes a row's hash covers: every column a reader relies on, in a fixed order and encoding.
CREATE OR REPLACE FUNCTION app_audit_row_hash(prev_hash bytea, r audit_logs) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT sha256(coalesce(prev_hash, ''::bytea) || convert_to(jsonb_build_array(
    r.organization_id, r.seq, r.id, (extract(epoch FROM r.created_at) * 1000000)::bigint,
    r.actor_type, r.actor_id, r.actor_label, r.action, r.target_type, r.target_id, r.request_id,
    host(r.ip), r.user_agent, r.changes
  )::text, 'UTF8'))
$$;
--> statement-breakpoint
-- Links each new row to its organization's chain. The head row lock serializes appends of one
-- organization only; other tenants append in parallel.
CREATE OR REPLACE FUNCTION app_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  INSERT INTO audit_chain_heads (organization_id, seq, hash)
  VALUES (NEW.organization_id, 0, ''::bytea)
  ON CONFLICT (organization_id) DO NOTHING;
  SELECT seq, hash INTO head FROM audit_chain_heads WHERE organization_id = NEW.organization_id FOR UPDATE;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := app_audit_row_hash(NEW.prev_hash, NEW);
  UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE organization_id = NEW.organization_id;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_logs_chain BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION app_audit_chain();
--> statement-breakpoint
-- Walks an organization's chain in order. Retention may have dropped the oldest rows, so the
-- first remaining row's prev_hash is the anchor. Returns how many rows were checked and the first
-- sequence number whose hash or link does not match (null when the chain is intact).
CREATE OR REPLACE FUNCTION app_verify_audit_chain(org uuid)
RETURNS TABLE (checked bigint, first_broken_seq bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r audit_logs;
  expected_prev bytea;
  expected_seq bigint;
BEGIN
  checked := 0;
  first_broken_seq := NULL;
  FOR r IN SELECT * FROM audit_logs WHERE organization_id = org ORDER BY seq LOOP
    IF checked > 0 AND (r.seq <> expected_seq OR r.prev_hash IS DISTINCT FROM expected_prev) THEN
      first_broken_seq := r.seq;
      RETURN NEXT;
      RETURN;
    END IF;
    IF r.hash IS DISTINCT FROM app_audit_row_hash(r.prev_hash, r) THEN
      first_broken_seq := r.seq;
      RETURN NEXT;
      RETURN;
    END IF;
    checked := checked + 1;
    expected_prev := r.hash;
    expected_seq := r.seq + 1;
  END LOOP;
  RETURN NEXT;
END $$;
--> statement-breakpoint
-- The sanctioned cross-tenant path for API keys: given a key's SHA-256, return its tenant and
-- scopes (only that row: the lookup policy matches on the hash) and record its use at most once a
-- minute. One round trip; callers decide on expiry and revocation from the returned columns.
CREATE OR REPLACE FUNCTION app_resolve_api_key(candidate_hash bytea)
RETURNS TABLE (organization_id uuid, api_key_id uuid, scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
  found record;
  previous_org text := current_setting('app.current_org_id', true);
BEGIN
  PERFORM set_config('app.api_key_hash', encode(candidate_hash, 'hex'), true);
  SELECT k.organization_id, k.id, k.scopes, k.expires_at, k.revoked_at INTO found
  FROM public.api_keys k WHERE k.key_hash = candidate_hash;
  PERFORM set_config('app.api_key_hash', '', true);
  IF found.id IS NULL THEN
    RETURN;
  END IF;
  IF found.revoked_at IS NULL AND (found.expires_at IS NULL OR found.expires_at > now()) THEN
    PERFORM set_config('app.current_org_id', found.organization_id::text, true);
    UPDATE public.api_keys SET last_used_at = now()
    WHERE api_keys.organization_id = found.organization_id AND api_keys.id = found.id
      AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < now() - interval '1 minute');
    PERFORM set_config('app.current_org_id', coalesce(previous_org, ''), true);
  END IF;
  organization_id := found.organization_id;
  api_key_id := found.id;
  scopes := found.scopes;
  expires_at := found.expires_at;
  revoked_at := found.revoked_at;
  RETURN NEXT;
END $$;
--> statement-breakpoint
SELECT app_ensure_monthly_partitions('audit_logs', 1, 3);
--> statement-breakpoint
SELECT app_install_table_hooks();
