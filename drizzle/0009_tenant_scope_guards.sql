-- The tenant scope, hardened: the tenant is named by its scope key (no other setting opens one),
-- the sanctioned cross-tenant paths are SECURITY DEFINER functions of neonhub_definer, and every
-- app_* function resolves names through a pinned search_path, so temp tables cannot shadow tables.

-- The organization a scope key names: its SHA-256 cut to a UUID (src/tenant-keys.ts computes the
-- same). Inlined into every policy: a pure function of the setting, so Citus workers evaluate it
-- too; every name is schema-qualified because an inlined function cannot pin its search_path.
CREATE OR REPLACE FUNCTION public.app_tenant_of_key(key text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(pg_catalog.decode(key, 'hex')), 1, 16), 'hex')::pg_catalog.uuid $$;
--> statement-breakpoint
-- The tenant of the current transaction: the organization whose id is the hash of the key
-- withTenant set. Unset or empty means no tenant (sees nothing); a malformed key raises.
CREATE OR REPLACE FUNCTION public.app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT public.app_tenant_of_key(NULLIF(pg_catalog.current_setting('app.tenant_key', true), '')) $$;
--> statement-breakpoint
-- No policy reads the person setting any more: a person's reach is app_user_organizations().
DROP FUNCTION IF EXISTS public.app_current_user_id();
--> statement-breakpoint
-- Users and the Auth.js tables stay closed to tenant scopes; forced, so the owner reads none either.
ALTER TABLE users FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
--> statement-breakpoint
-- PostgreSQL 15 lets a role own a function only when the migrating role is its member and the role
-- may create in the schema. The migrating role stays a member (it runs audit retention as it);
-- neonhub_definer logs in nowhere, so only its functions ever act as it.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role(current_user, 'neonhub_definer', 'MEMBER') THEN
    EXECUTE format('GRANT neonhub_definer TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE, CREATE ON SCHEMA public TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT ON organizations, memberships, roles, users, api_keys, invitations TO neonhub_definer;
--> statement-breakpoint
GRANT UPDATE (last_used_at) ON api_keys TO neonhub_definer;
--> statement-breakpoint
GRANT UPDATE (accepted_at, accepted_by_user_id) ON invitations TO neonhub_definer;
--> statement-breakpoint
GRANT INSERT (organization_id, user_id, role_id, status, joined_at) ON memberships TO neonhub_definer;
--> statement-breakpoint
-- The sealed scope key of one organization (null when there is none): what withTenant opens.
CREATE OR REPLACE FUNCTION public.app_organization_scope_key(org uuid) RETURNS bytea
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT o.scope_key FROM public.organizations o WHERE o.id = org $$;
--> statement-breakpoint
-- Every organization's id, for admin jobs (key rotation, retention) that then enter each tenant.
CREATE OR REPLACE FUNCTION public.app_organization_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT o.id FROM public.organizations o ORDER BY o.id $$;
--> statement-breakpoint
-- The organizations a person is an active member of, with their role: the sign-in screen's list.
CREATE OR REPLACE FUNCTION public.app_user_organizations(person uuid)
RETURNS TABLE (id uuid, slug text, name text, role_key text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT o.id, o.slug, o.name, r.key
  FROM public.memberships m
  JOIN public.organizations o ON o.id = m.organization_id
  JOIN public.roles r ON r.organization_id = m.organization_id AND r.id = m.role_id
  WHERE m.user_id = person AND m.status = 'active' AND o.deleted_at IS NULL
  ORDER BY o.name, o.id
$$;
--> statement-breakpoint
-- The people of the current tenant: a user is visible in a tenant only through an active membership.
CREATE OR REPLACE FUNCTION public.app_member_profiles()
RETURNS TABLE (user_id uuid, email text, name text, image text, role_id uuid, joined_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT u.id, u.email, u.name, u.image, m.role_id, m.joined_at
  FROM public.memberships m
  JOIN public.users u ON u.id = m.user_id
  WHERE m.organization_id = public.app_current_org_id() AND m.status = 'active'
  ORDER BY u.email
$$;
--> statement-breakpoint
-- The founding owner of the current tenant: only while it has no member yet (createOrganization).
-- Everyone after joins by invitation: no tenant attaches a person by id.
CREATE OR REPLACE FUNCTION public.app_found_organization(owner uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  org uuid := public.app_current_org_id();
  owner_role uuid;
  created uuid;
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'app_found_organization needs a tenant scope' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT FROM public.memberships m WHERE m.organization_id = org) THEN
    RAISE EXCEPTION 'organization % already has members: people join it by invitation', org
      USING ERRCODE = 'insufficient_privilege', TABLE = 'memberships', COLUMN = 'user_id';
  END IF;
  SELECT r.id INTO owner_role FROM public.roles r WHERE r.organization_id = org AND r.key = 'owner';
  IF owner_role IS NULL THEN
    RAISE EXCEPTION 'organization % has no owner role', org USING ERRCODE = 'foreign_key_violation', TABLE = 'memberships', COLUMN = 'role_id';
  END IF;
  INSERT INTO public.memberships (organization_id, user_id, role_id, status, joined_at)
  VALUES (org, owner, owner_role, 'active', now())
  RETURNING id INTO created;
  RETURN created;
END $$;
--> statement-breakpoint
-- A person accepts an invitation sent to their address: the token's SHA-256 finds it in whatever
-- tenant it belongs to, the person's email must be the invited one, and the membership is theirs.
CREATE OR REPLACE FUNCTION public.app_accept_invitation(person uuid, presented_hash bytea) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  invitation record;
  person_email text;
BEGIN
  SELECT i.organization_id, i.id, i.email, i.role_id, i.expires_at, i.accepted_at INTO invitation
  FROM public.invitations i WHERE i.token_hash = presented_hash
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
-- API-key verification before any tenant is known: the key's tenant and scopes by the SHA-256 of
-- the presented key, and its use recorded at most once a minute. One round trip.
CREATE OR REPLACE FUNCTION public.app_resolve_api_key(candidate_hash bytea)
RETURNS TABLE (organization_id uuid, api_key_id uuid, scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  found record;
BEGIN
  SELECT k.organization_id, k.id, k.scopes, k.expires_at, k.revoked_at INTO found
  FROM public.api_keys k WHERE k.key_hash = candidate_hash;
  IF found.id IS NULL THEN
    RETURN;
  END IF;
  IF found.revoked_at IS NULL AND (found.expires_at IS NULL OR found.expires_at > now()) THEN
    UPDATE public.api_keys k SET last_used_at = now()
    WHERE k.organization_id = found.organization_id AND k.id = found.id
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
  END IF;
  organization_id := found.organization_id;
  api_key_id := found.id;
  scopes := found.scopes;
  expires_at := found.expires_at;
  revoked_at := found.revoked_at;
  RETURN NEXT;
END $$;
--> statement-breakpoint
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['app_organization_scope_key(uuid)', 'app_organization_ids()', 'app_user_organizations(uuid)',
                           'app_member_profiles()', 'app_found_organization(uuid)', 'app_accept_invitation(uuid, bytea)',
                           'app_resolve_api_key(bytea)'] LOOP
    EXECUTE format('ALTER FUNCTION public.%s OWNER TO neonhub_definer', f);
    EXECUTE format('REVOKE ALL ON FUNCTION public.%s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.%s TO neonhub_app', f);
  END LOOP;
END $$;
--> statement-breakpoint
-- Table hooks grant neonhub_app only what some policy lets it use: DML where a policy for it (or
-- PUBLIC) covers writes, SELECT where its policies only read, nothing where only neonhub_definer's
-- policies apply; never an organization's id or scope key to change, never a membership's person.
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
  REVOKE UPDATE ON public.organizations FROM neonhub_app;
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
-- The partition helpers create tables, so with the pinned search_path they name the schema.
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
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change()',
                   partition_name || '_refuse_truncate', partition_name);
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
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION app_refuse_change()',
                     default_name || '_refuse_truncate', default_name);
    END IF;
    created := created + 1;
  END IF;
  RETURN created;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_partition_by_month(target regclass, column_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
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
  SELECT coalesce(array_agg(format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', table_name, conname, pg_get_constraintdef(oid)) ORDER BY contype DESC, conname), '{}')
    INTO constraint_defs FROM pg_constraint WHERE conrelid = target AND contype IN ('p', 'u', 'c', 'f', 'x');
  SELECT coalesce(array_agg(regexp_replace(pg_get_indexdef(indexrelid), ' ON (ONLY )?\S+ USING ', format(' ON public.%I USING ', table_name))), '{}')
    INTO index_defs FROM pg_index
    WHERE indrelid = target AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid AND conrelid = target);
  SELECT coalesce(array_agg(format('CREATE POLICY %I ON public.%I AS %s FOR %s TO %s%s%s', policyname, table_name, permissive, cmd,
                           array_to_string(roles, ', '),
                           CASE WHEN qual IS NOT NULL THEN ' USING (' || qual || ')' ELSE '' END,
                           CASE WHEN with_check IS NOT NULL THEN ' WITH CHECK (' || with_check || ')' ELSE '' END)), '{}')
    INTO policy_defs FROM pg_policies WHERE schemaname = 'public' AND tablename = table_name;

  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', table_name, staging);
  EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                 table_name, staging, column_name);
  EXECUTE format('DROP TABLE public.%I', staging);
  FOREACH def IN ARRAY constraint_defs LOOP EXECUTE def; END LOOP;
  FOREACH def IN ARRAY index_defs LOOP EXECUTE def; END LOOP;
  FOREACH def IN ARRAY policy_defs LOOP EXECUTE def; END LOOP;
  IF rls THEN EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', table_name); END IF;
  IF force_rls THEN EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', table_name); END IF;
END $$;
--> statement-breakpoint
-- Every other app_* function resolves names through a pinned search_path, temp schema last.
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure AS signature
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proname LIKE 'app\_%'
      AND p.proname NOT IN ('app_tenant_of_key', 'app_current_org_id')
      AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, public, pg_temp'], false)
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, public, pg_temp', f.signature);
  END LOOP;
END $$;
--> statement-breakpoint
SELECT app_install_table_hooks();
