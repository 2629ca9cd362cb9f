-- Scope tickets: a scope opens with a proof made from its tenant's key (derived from the key ring,
-- never sent), and the database answers with a ticket bound to the transaction (this backend and
-- transaction, or on Citus the distributed transaction every node sees). Policies verify the ticket:
-- a ticket seen anywhere opens nothing outside its own transaction, and keys rotate by version.

GRANT SELECT ON scope_secrets TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON tenant_scope_keys TO neonhub_definer;
--> statement-breakpoint
-- HMAC-SHA256 from precomputed pads (inner || outer, 64 bytes each): only built-in functions, so the
-- embedded database and Citus workers compute it as the application does.
CREATE OR REPLACE FUNCTION public.app_hmac(pads bytea, message text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.sha256(pg_catalog.substr(pads, 65, 64) || pg_catalog.sha256(pg_catalog.substr(pads, 1, 64) || pg_catalog.convert_to(message, 'UTF8'))) $$;
--> statement-breakpoint
-- The pads of a key of at most 64 bytes (the ticket secret below; the application sends tenant pads).
CREATE OR REPLACE FUNCTION public.app_hmac_pads(key bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  inner_pad bytea := key || decode(repeat('00', 64 - octet_length(key)), 'hex');
  outer_pad bytea := inner_pad;
BEGIN
  FOR i IN 0..63 LOOP
    inner_pad := set_byte(inner_pad, i, get_byte(inner_pad, i) # 54);
    outer_pad := set_byte(outer_pad, i, get_byte(outer_pad, i) # 92);
  END LOOP;
  RETURN inner_pad || outer_pad;
END $$;
--> statement-breakpoint
-- The secret tickets are sealed with: 256 bits from the server's strong random source, never leaving the database.
INSERT INTO scope_secrets (name, verifier)
SELECT 'ticket', app_hmac_pads(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')))
ON CONFLICT (name) DO NOTHING;
--> statement-breakpoint
-- What a ticket is bound to: this backend and the start of its transaction ('b'), or on Citus the
-- distributed transaction the coordinator assigned and hands to every worker connection ('d').
CREATE OR REPLACE FUNCTION public.app_scope_binding(kind text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
-- Every name is qualified: this runs inside policies, where a SET clause would cost every statement.
DECLARE
  tx record;
BEGIN
  IF kind = 'b' THEN
    RETURN pg_catalog.pg_backend_pid()::text || ':'
      || (extract(epoch FROM pg_catalog.transaction_timestamp()) * 1000000)::bigint::text;
  END IF;
  SELECT t.initiator_node_identifier, t.transaction_number, t.transaction_stamp INTO tx
  FROM pg_catalog.get_current_transaction_id() t;
  IF tx.transaction_number IS NULL OR tx.transaction_number = 0 THEN
    RAISE EXCEPTION 'a distributed scope ticket outside a distributed transaction'
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  -- On a worker, only Citus's own connections (which log in as the package's roles) carry tickets:
  -- a direct login could assign itself another transaction's id.
  IF NOT pg_catalog.citus_is_coordinator()
     AND session_user::text NOT IN ('neonhub_app', 'neonhub_definer', 'neonhub_auth') THEN
    RAISE EXCEPTION 'scope tickets are accepted on a worker only from the coordinator''s connections'
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  RETURN tx.initiator_node_identifier::text || ':' || tx.transaction_number::text || ':'
    || (extract(epoch FROM tx.transaction_stamp) * 1000000)::bigint::text;
END $$;
--> statement-breakpoint
-- The subject (organization for 't', person for 'u') of this transaction's ticket in app.scope, or
-- null without one. A ticket of another transaction, another kind or a forged one raises.
-- On a Citus worker it reads the node's own copy of scope_secrets (a reference table) from inside a
-- shard query, which Citus allows a function marked for it: neonhub-db distribute marks it.
CREATE OR REPLACE FUNCTION public.app_scope_subject(kind text) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
AS $$
-- Every name is qualified: this runs inside policies, where a SET clause would cost every statement.
DECLARE
  ticket text := pg_catalog.current_setting('app.scope', true);
  parts text[];
  secret bytea;
BEGIN
  IF ticket IS NULL OR ticket = '' THEN
    RETURN NULL;
  END IF;
  parts := pg_catalog.string_to_array(ticket, ':');
  IF pg_catalog.cardinality(parts) <> 4 OR parts[1] NOT IN ('t', 'u') OR parts[2] NOT IN ('b', 'd')
     OR parts[3] !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' OR parts[4] !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'app.scope does not hold a scope ticket' USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  IF parts[1] <> kind THEN
    RETURN NULL;
  END IF;
  SELECT s.verifier INTO secret FROM public.scope_secrets s WHERE s.name = 'ticket';
  IF public.app_hmac(secret, parts[1] || ':' || parts[2] || ':' || parts[3] || ':' || public.app_scope_binding(parts[2]))
     <> pg_catalog.decode(parts[4], 'hex') THEN
    RAISE EXCEPTION 'app.scope holds a ticket of another transaction, or a forged one'
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  RETURN parts[3]::pg_catalog.uuid;
END $$;
--> statement-breakpoint
-- Inlined into every policy; the planner evaluates it once per statement that names its tenant.
CREATE OR REPLACE FUNCTION public.app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$ SELECT public.app_scope_subject('t') $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$ SELECT public.app_scope_subject('u') $$;
--> statement-breakpoint
-- Puts a ticket for this transaction in app.scope. On Citus, once the distributed transaction is
-- open, as SET LOCAL (forwarded to every worker connection, open or opened later).
CREATE OR REPLACE FUNCTION public.app_issue_ticket(kind text, subject uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  binding_kind text := 'b';
  secret bytea;
  ticket text;
BEGIN
  -- Nested, so a server without Citus never plans the call.
  IF kind = 't' AND to_regprocedure('pg_catalog.get_current_transaction_id()') IS NOT NULL THEN
    IF (SELECT t.transaction_number FROM get_current_transaction_id() t) > 0 THEN
      binding_kind := 'd';
    END IF;
  END IF;
  SELECT s.verifier INTO secret FROM public.scope_secrets s WHERE s.name = 'ticket';
  ticket := kind || ':' || binding_kind || ':' || subject || ':'
    || encode(public.app_hmac(secret, kind || ':' || binding_kind || ':' || subject || ':' || public.app_scope_binding(binding_kind)), 'hex');
  IF binding_kind = 'd' THEN
    PERFORM set_config('citus.propagate_set_commands', 'local', true);
    EXECUTE format('SET LOCAL app.scope = %L', ticket);
  ELSE
    PERFORM set_config('app.scope', ticket, true);
  END IF;
END $$;
--> statement-breakpoint
-- A proof is fresh for a minute either way of the database's clock.
CREATE OR REPLACE FUNCTION public.app_check_fresh(issued_ms bigint) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF issued_ms IS NULL OR abs((extract(epoch FROM clock_timestamp()) * 1000)::bigint - issued_ms) > 60000 THEN
    RAISE EXCEPTION 'the scope proof is not from the last minute: compare the application''s clock with the database''s'
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
END $$;
--> statement-breakpoint
-- Whether a proof made with the service key (derived from the key ring, registered by the migrating
-- role) signs this message.
CREATE OR REPLACE FUNCTION public.app_service_signed(message text, proof bytea) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  pads bytea;
BEGIN
  SELECT s.verifier INTO pads FROM public.scope_secrets s WHERE s.name = 'service';
  IF pads IS NULL THEN
    RAISE EXCEPTION 'no service key is registered: run neonhub-db migrate with the key ring (NEONHUB_CREDENTIAL_KEYS)'
      USING ERRCODE = 'invalid_authorization_specification', TABLE = 'scope_secrets';
  END IF;
  RETURN proof IS NOT NULL AND public.app_hmac(pads, message) = proof;
END $$;
--> statement-breakpoint
-- Opens a tenant scope: the proof is the HMAC, under the tenant key of that version, of the
-- organization, version and issue time. Returns the organization's newest key version.
CREATE OR REPLACE FUNCTION public.app_open_scope(org uuid, key_version integer, issued_ms bigint, proof bytea)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  key record;
BEGIN
  PERFORM public.app_check_fresh(issued_ms);
  -- On Citus this read, of the tenant's shard, also opens the distributed transaction the ticket binds to.
  SELECT k.verifier, k.retires_at, (SELECT max(n.version) FROM public.tenant_scope_keys n WHERE n.organization_id = org) AS newest
  INTO key
  FROM public.tenant_scope_keys k
  WHERE k.organization_id = org AND k.version = key_version;
  IF key.verifier IS NULL OR (key.retires_at IS NOT NULL AND key.retires_at <= now())
     OR proof IS NULL OR public.app_hmac(key.verifier, 'neonhub/tenant-scope/v1:' || org || ':' || key_version || ':' || issued_ms) <> proof THEN
    RAISE EXCEPTION 'tenant scope refused for organization %: no such organization or key version, a retired key, or a wrong proof', org
      USING ERRCODE = 'invalid_authorization_specification', TABLE = 'tenant_scope_keys';
  END IF;
  PERFORM public.app_issue_ticket('t', org);
  RETURN key.newest;
END $$;
--> statement-breakpoint
-- Opens a person's scope: the proof is the service key's HMAC of the person and issue time.
CREATE OR REPLACE FUNCTION public.app_open_user_scope(person uuid, issued_ms bigint, proof bytea) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  PERFORM public.app_check_fresh(issued_ms);
  IF person IS NULL OR NOT public.app_service_signed('neonhub/user-scope/v1:' || person || ':' || issued_ms, proof) THEN
    RAISE EXCEPTION 'user scope refused: a wrong proof' USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  PERFORM public.app_issue_ticket('u', person);
END $$;
--> statement-breakpoint
-- Whether an organization exists, and its newest key version and the key ring key that version is
-- derived from (null for an organization made before scope tickets, which gets its first one).
CREATE OR REPLACE FUNCTION public.app_tenant_key_version(org uuid) RETURNS TABLE (version integer, key_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT k.version, k.key_id
  FROM public.organizations o
  LEFT JOIN LATERAL (
    SELECT n.version, n.key_id FROM public.tenant_scope_keys n
    WHERE n.organization_id = org AND (n.retires_at IS NULL OR n.retires_at > now())
    ORDER BY n.version DESC LIMIT 1
  ) k ON true
  WHERE o.id = org;
END $$;
--> statement-breakpoint
-- The key ring key the service key is derived from (null before migrate registered it).
CREATE OR REPLACE FUNCTION public.app_service_key_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT s.key_id FROM public.scope_secrets s WHERE s.name = 'service' $$;
--> statement-breakpoint
-- Gives an organization a new key version, signed by the service key: rotation, or the first key of
-- an organization made before scope tickets. Older versions retire after the grace period.
CREATE OR REPLACE FUNCTION public.app_add_tenant_key(
  org uuid, new_version integer, new_key_id text, new_verifier bytea, grace_seconds integer, issued_ms bigint, proof bytea
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  newest integer;
BEGIN
  PERFORM public.app_check_fresh(issued_ms);
  IF NOT public.app_service_signed('neonhub/tenant-key/v1:' || org || ':' || new_version || ':' || new_key_id || ':'
       || encode(sha256(new_verifier), 'hex') || ':' || grace_seconds || ':' || issued_ms, proof) THEN
    RAISE EXCEPTION 'tenant key change refused: a wrong proof' USING ERRCODE = 'invalid_authorization_specification', TABLE = 'tenant_scope_keys';
  END IF;
  IF grace_seconds IS NULL OR grace_seconds < 0 THEN
    RAISE EXCEPTION 'the grace period is a number of seconds, 0 or more' USING ERRCODE = 'check_violation', TABLE = 'tenant_scope_keys', COLUMN = 'retires_at';
  END IF;
  IF NOT EXISTS (SELECT FROM public.organizations o WHERE o.id = org) THEN
    RAISE EXCEPTION 'no organization %', org USING ERRCODE = 'foreign_key_violation', TABLE = 'tenant_scope_keys', CONSTRAINT = 'tenant_scope_keys_organization_id_fkey';
  END IF;
  SELECT max(k.version) INTO newest FROM public.tenant_scope_keys k WHERE k.organization_id = org;
  IF new_version IS DISTINCT FROM coalesce(newest, 0) + 1 THEN
    RAISE EXCEPTION 'organization % is at key version %, not %: another rotation came first', org, coalesce(newest, 0), new_version - 1
      USING ERRCODE = 'serialization_failure', TABLE = 'tenant_scope_keys';
  END IF;
  UPDATE public.tenant_scope_keys k SET retires_at = least(coalesce(k.retires_at, 'infinity'), now() + make_interval(secs => grace_seconds))
  WHERE k.organization_id = org;
  INSERT INTO public.tenant_scope_keys (organization_id, version, key_id, verifier)
  VALUES (org, new_version, new_key_id, new_verifier);
END $$;
--> statement-breakpoint
DROP FUNCTION public.app_create_organization(uuid, bytea, text, text, organization_plan, text, jsonb, uuid, jsonb);
--> statement-breakpoint
-- Founds an organization in the scope of its owner, the person the scope was opened for, with its
-- first key version (signed by the service key) and its system roles, in one definer call.
CREATE FUNCTION public.app_create_organization(
  new_id uuid, new_slug text, new_name text, new_plan organization_plan, new_data_region text, new_settings jsonb,
  system_roles jsonb, new_key_id text, new_verifier bytea, issued_ms bigint, proof bytea
) RETURNS TABLE (organization jsonb, roles jsonb, membership jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  owner uuid := public.app_current_user_id();
  created public.organizations;
  role_row public.roles;
  founded public.memberships;
  role_rows jsonb := '[]'::jsonb;
  owner_role uuid;
  spec jsonb;
  granted int;
BEGIN
  IF owner IS NULL THEN
    RAISE EXCEPTION 'an organization is founded in the scope of its owner (withUser)'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'organizations';
  END IF;
  PERFORM public.app_check_fresh(issued_ms);
  IF NOT public.app_service_signed('neonhub/tenant-key/v1:' || new_id || ':1:' || new_key_id || ':'
       || encode(sha256(new_verifier), 'hex') || ':0:' || issued_ms, proof) THEN
    RAISE EXCEPTION 'organization refused: a wrong proof for its key' USING ERRCODE = 'invalid_authorization_specification', TABLE = 'tenant_scope_keys';
  END IF;
  IF EXISTS (SELECT FROM public.organizations o WHERE o.id = new_id) THEN
    RAISE EXCEPTION 'organization % already exists: people join it by invitation', new_id
      USING ERRCODE = 'insufficient_privilege', TABLE = 'memberships', COLUMN = 'user_id';
  END IF;
  INSERT INTO public.organizations (id, slug, name, plan, data_region, settings)
  VALUES (new_id, new_slug, new_name, new_plan, new_data_region, new_settings)
  RETURNING * INTO created;
  INSERT INTO public.tenant_scope_keys (organization_id, version, key_id, verifier)
  VALUES (new_id, 1, new_key_id, new_verifier);
  FOR spec IN SELECT value FROM jsonb_array_elements(system_roles) LOOP
    INSERT INTO public.roles (organization_id, key, name, description, is_system)
    VALUES (new_id, spec->>'key', spec->>'name', spec->>'description', true)
    RETURNING * INTO role_row;
    -- RETURNING keeps it an ordinary insert on Citus (a plain INSERT ... SELECT runs as COPY, which RLS refuses).
    WITH granted_rows AS (
      INSERT INTO public.role_permissions (organization_id, role_id, permission_key)
      SELECT new_id, role_row.id, p.key FROM jsonb_array_elements_text(spec->'permissions') AS p(key)
      RETURNING 1
    )
    SELECT count(*) INTO granted FROM granted_rows;
    role_rows := role_rows || jsonb_build_array(to_jsonb(role_row));
    IF role_row.key = 'owner' THEN
      owner_role := role_row.id;
    END IF;
  END LOOP;
  IF owner_role IS NULL THEN
    RAISE EXCEPTION 'a new organization needs an owner role' USING ERRCODE = 'foreign_key_violation', TABLE = 'memberships', COLUMN = 'role_id';
  END IF;
  INSERT INTO public.memberships (organization_id, user_id, role_id, status, joined_at)
  VALUES (new_id, owner, owner_role, 'active', now())
  RETURNING * INTO founded;
  organization := to_jsonb(created);
  roles := role_rows;
  membership := to_jsonb(founded);
  RETURN NEXT;
END $$;
--> statement-breakpoint
DROP FUNCTION public.app_user_organizations(uuid);
--> statement-breakpoint
-- The organizations of the person this scope was opened for, with their role: the sign-in screen's list.
CREATE FUNCTION public.app_user_organizations()
RETURNS TABLE (id uuid, slug text, name text, role_key text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  person uuid := public.app_current_user_id();
BEGIN
  IF person IS NULL THEN
    RAISE EXCEPTION 'a person''s organizations are listed in that person''s scope (withUser)' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
  SELECT o.id, o.slug, o.name, r.key
  FROM public.memberships m
  JOIN public.organizations o ON o.id = m.organization_id
  JOIN public.roles r ON r.organization_id = m.organization_id AND r.id = m.role_id
  WHERE m.user_id = person AND m.status = 'active' AND o.deleted_at IS NULL
  ORDER BY o.name, o.id;
END $$;
--> statement-breakpoint
DROP FUNCTION public.app_accept_invitation(uuid, uuid, bytea);
--> statement-breakpoint
-- The person this scope was opened for accepts an invitation sent to their address.
CREATE FUNCTION public.app_accept_invitation(org uuid, presented_hash bytea) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  person uuid := public.app_current_user_id();
  invitation record;
  person_email text;
BEGIN
  IF person IS NULL THEN
    RAISE EXCEPTION 'an invitation is accepted in the invited person''s scope (withUser)' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT i.organization_id, i.id, i.email, i.role_id, i.expires_at, i.accepted_at INTO invitation
  FROM public.invitations i WHERE i.organization_id = org AND i.token_hash = presented_hash
  FOR UPDATE;
  IF invitation.id IS NULL OR invitation.accepted_at IS NOT NULL OR invitation.expires_at <= now() THEN
    RAISE EXCEPTION 'the invitation is unknown, already accepted or expired'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'invitations', COLUMN = 'token_hash';
  END IF;
  SELECT u.email INTO person_email FROM public.users u WHERE u.id = person;
  IF person_email IS NULL OR lower(person_email) <> lower(invitation.email) THEN
    RAISE EXCEPTION 'the invitation was sent to another address'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'invitations', COLUMN = 'email';
  END IF;
  IF EXISTS (SELECT FROM public.memberships m WHERE m.organization_id = invitation.organization_id AND m.user_id = person) THEN
    RAISE EXCEPTION 'already a member of this organization'
      USING ERRCODE = 'unique_violation', TABLE = 'memberships', CONSTRAINT = 'memberships_organization_id_user_id_key';
  END IF;
  INSERT INTO public.memberships (organization_id, user_id, role_id, status, joined_at)
  VALUES (invitation.organization_id, person, invitation.role_id, 'active', now());
  UPDATE public.invitations i SET accepted_at = now(), accepted_by_user_id = person
  WHERE i.organization_id = invitation.organization_id AND i.id = invitation.id;
  RETURN invitation.organization_id;
END $$;
--> statement-breakpoint
-- Clears what a scope may have left on its session for the next scope on the pooled connection:
-- settings (RESET ALL; the role apart), cursors kept past the transaction, listened channels,
-- session advisory locks, temp objects, sequence state, and statements prepared with SQL PREPARE
-- (which could stand in for the driver's). Returns how many of those it found: the caller closes
-- such a connection. One call, so the reset costs one statement; no SET clause, since RESET ALL
-- must reach the session, so every name is qualified.
CREATE OR REPLACE FUNCTION public.app_reset_session() RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  planted text;
  found integer := 0;
BEGIN
  RESET ALL;
  RESET ROLE;
  EXECUTE 'CLOSE ALL';
  UNLISTEN *;
  PERFORM pg_catalog.pg_advisory_unlock_all();
  DISCARD TEMP;
  DISCARD SEQUENCES;
  FOR planted IN SELECT p.name FROM pg_catalog.pg_prepared_statements p WHERE p.from_sql LOOP
    EXECUTE pg_catalog.format('DEALLOCATE %I', planted);
    found := found + 1;
  END LOOP;
  RETURN found;
END $$;
--> statement-breakpoint
DROP FUNCTION public.app_organization_scope_key(uuid);
--> statement-breakpoint
DROP FUNCTION public.app_tenant_of_key(text);
--> statement-breakpoint
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['app_scope_subject(text)', 'app_issue_ticket(text, uuid)', 'app_open_scope(uuid, integer, bigint, bytea)',
                           'app_open_user_scope(uuid, bigint, bytea)', 'app_tenant_key_version(uuid)', 'app_service_key_id()',
                           'app_add_tenant_key(uuid, integer, text, bytea, integer, bigint, bytea)', 'app_service_signed(text, bytea)',
                           'app_create_organization(uuid, text, text, organization_plan, text, jsonb, jsonb, text, bytea, bigint, bytea)',
                           'app_user_organizations()', 'app_accept_invitation(uuid, bytea)'] LOOP
    EXECUTE format('ALTER FUNCTION public.%s OWNER TO neonhub_definer', f);
    EXECUTE format('REVOKE ALL ON FUNCTION public.%s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.%s TO neonhub_app', f);
  END LOOP;
END $$;
--> statement-breakpoint
-- Policies call it as whoever queries (the app, the definer, the owner): it only answers what this
-- transaction's ticket proves.
GRANT EXECUTE ON FUNCTION public.app_scope_subject(text) TO PUBLIC;
--> statement-breakpoint
-- Internal steps of the definer functions above, not entry points.
REVOKE EXECUTE ON FUNCTION public.app_issue_ticket(text, uuid), public.app_service_signed(text, bytea) FROM neonhub_app;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_install_table_hooks() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  t record;
  app_oid oid := (SELECT oid FROM pg_roles WHERE rolname = 'neonhub_app');
BEGIN
  FOR t IN
    SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relispartition,
           EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped) AS has_updated_at,
           EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND (0 = ANY (p.polroles) OR app_oid = ANY (p.polroles))) AS has_policy,
           EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd <> 'r' AND (0 = ANY (p.polroles) OR app_oid = ANY (p.polroles))) AS has_write_policy,
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
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION app_touch_updated_at()',
                     t.relname || '_touch_updated_at', t.relname);
    END IF;
    IF t.is_tenant_table AND t.relrowsecurity AND NOT t.relforcerowsecurity THEN
      EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', t.relname);
    END IF;
    IF t.relispartition THEN
      EXECUTE format('REVOKE ALL ON public.%I FROM neonhub_app', t.relname);
    ELSIF NOT t.relrowsecurity THEN
      EXECUTE format('GRANT SELECT ON public.%I TO neonhub_app', t.relname);
    ELSIF t.has_write_policy THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO neonhub_app', t.relname);
    ELSIF t.has_policy THEN
      EXECUTE format('REVOKE ALL ON public.%I FROM neonhub_app', t.relname);
      EXECUTE format('GRANT SELECT ON public.%I TO neonhub_app', t.relname);
    ELSE
      EXECUTE format('REVOKE ALL ON public.%I FROM neonhub_app', t.relname);
    END IF;
  END LOOP;
  -- Organizations are founded and deleted only through the definer paths.
  REVOKE INSERT, UPDATE, DELETE ON public.organizations FROM neonhub_app;
  EXECUTE (
    SELECT format('GRANT UPDATE (%s) ON public.organizations TO neonhub_app', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum))
    FROM pg_attribute a
    WHERE a.attrelid = 'public.organizations'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('id', 'scope_key')
  );
  REVOKE INSERT, UPDATE ON public.memberships FROM neonhub_app;
  EXECUTE (
    SELECT format('GRANT UPDATE (%s) ON public.memberships TO neonhub_app', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum))
    FROM pg_attribute a
    WHERE a.attrelid = 'public.memberships'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname NOT IN ('id', 'organization_id', 'user_id')
  );
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO neonhub_app;
END $$;
--> statement-breakpoint
SELECT app_install_table_hooks();
