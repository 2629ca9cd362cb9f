-- Before organizations take their ids from tenant scope keys (0008): the role that owns the
-- sanctioned cross-tenant functions, and a refusal to rewrite a database that already has tenants.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'neonhub_definer') THEN
    CREATE ROLE neonhub_definer NOLOGIN NOBYPASSRLS NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
--> statement-breakpoint
-- Forced RLS would hide the rows from the owner, so look with it lifted for this one check.
ALTER TABLE organizations NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
DO $$
BEGIN
  IF EXISTS (SELECT FROM public.organizations) THEN
    RAISE EXCEPTION 'organizations now take their ids from tenant scope keys, and this database already holds organizations'
      USING HINT = 'recreate it (npm run db:reset on a development database), or re-create its tenants with createOrganization in a fresh database';
  END IF;
END $$;
--> statement-breakpoint
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
