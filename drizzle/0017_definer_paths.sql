-- Sanctioned paths as Citus runs them: a definer function is the only writer of the shards it
-- touches in a transaction, and no SQL-language function queries distributed tables with parameters.

-- Citus cannot plan a multi-shard query with parameters inside a SQL-language function: the
-- sign-in screen's list becomes PL/pgSQL (each call planned with its value).
CREATE OR REPLACE FUNCTION public.app_user_organizations(person uuid)
RETURNS TABLE (id uuid, slug text, name text, role_key text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT o.id, o.slug, o.name, r.key
  FROM public.memberships m
  JOIN public.organizations o ON o.id = m.organization_id
  JOIN public.roles r ON r.organization_id = m.organization_id AND r.id = m.role_id
  WHERE m.user_id = person AND m.status = 'active' AND o.deleted_at IS NULL
  ORDER BY o.name, o.id;
END $$;
--> statement-breakpoint
-- The append returns the row it wrote (on Citus a transaction cannot read, as neonhub_app, shards a
-- definer function wrote in it, so recordAudit takes the row from the definer) and stamps created_at
-- in the coordinator's transaction, the instant app_audit_prepare handed to the seal.
DROP FUNCTION app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb);
--> statement-breakpoint
CREATE FUNCTION app_audit_append(
  org uuid, new_id uuid, new_seq bigint, new_prev_hash bytea, new_hash bytea, new_key_id text,
  new_actor_type audit_actor_type, new_actor_id uuid, new_actor_label text, new_action text,
  new_target_type text, new_target_id text, new_request_id text, new_ip inet, new_user_agent text,
  new_changes jsonb
) RETURNS SETOF public.audit_logs
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  head record;
  appended public.audit_logs;
  -- Read here, in the coordinator's transaction: the same instant app_audit_prepare handed to the seal.
  stamped timestamptz := transaction_timestamp();
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
    stamped, new_prev_hash, new_hash, new_key_id)
  RETURNING * INTO appended;
  UPDATE public.audit_chain_heads h SET seq = new_seq, hash = new_hash WHERE h.organization_id = org;
  RETURN NEXT appended;
END $$;
--> statement-breakpoint
ALTER FUNCTION app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app_audit_append(uuid, uuid, bigint, bytea, bytea, text, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb) TO neonhub_app;
--> statement-breakpoint
-- createOrganization writes every founding row through this one definer function and takes the
-- rows it returns: on Citus a transaction cannot touch, as neonhub_app, shards a definer function
-- wrote in it (nor the other way round), and the founding membership needs the definer.
GRANT INSERT ON organizations, roles, role_permissions TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT ON role_permissions TO neonhub_definer;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_create_organization(
  new_id uuid, new_scope_key bytea, new_slug text, new_name text, new_plan organization_plan,
  new_data_region text, new_settings jsonb, owner uuid, system_roles jsonb
) RETURNS TABLE (organization jsonb, roles jsonb, membership jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  created public.organizations;
  role_row public.roles;
  founded public.memberships;
  role_rows jsonb := '[]'::jsonb;
  owner_role uuid;
  spec jsonb;
  granted int;
BEGIN
  IF new_id IS NULL OR new_id IS DISTINCT FROM public.app_current_org_id() THEN
    RAISE EXCEPTION 'an organization is created inside its own tenant scope'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'organizations';
  END IF;
  IF EXISTS (SELECT FROM public.organizations o WHERE o.id = new_id) THEN
    RAISE EXCEPTION 'organization % already exists: people join it by invitation', new_id
      USING ERRCODE = 'insufficient_privilege', TABLE = 'memberships', COLUMN = 'user_id';
  END IF;
  INSERT INTO public.organizations (id, scope_key, slug, name, plan, data_region, settings)
  VALUES (new_id, new_scope_key, new_slug, new_name, new_plan, new_data_region, new_settings)
  RETURNING * INTO created;
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
ALTER FUNCTION public.app_create_organization(uuid, bytea, text, text, organization_plan, text, jsonb, uuid, jsonb) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_create_organization(uuid, bytea, text, text, organization_plan, text, jsonb, uuid, jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_create_organization(uuid, bytea, text, text, organization_plan, text, jsonb, uuid, jsonb) TO neonhub_app;
--> statement-breakpoint
-- Citus evaluates column defaults (id, timestamps) on the coordinator and sends every column to the
-- shard, so a column-list INSERT grant is refused there: the definer, reachable only through its
-- functions, gets INSERT on the whole table.
GRANT INSERT ON memberships TO neonhub_definer;
--> statement-breakpoint
-- The founding owner now comes only from app_create_organization, which also writes the organization.
DROP FUNCTION public.app_found_organization(uuid);
