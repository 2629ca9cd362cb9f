-- The role the Auth.js pool acts as (`neonhub-db create-login <name> --auth`): it reads and writes
-- the five Auth.js tables through policies of its own (auth_policies), and nothing else. Never a
-- member of neonhub_app nor the other way round, so no tenant scope reaches these tables.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'neonhub_auth') THEN
    CREATE ROLE neonhub_auth NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO neonhub_auth;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON users, accounts, sessions, verification_tokens, authenticators TO neonhub_auth;
