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
