-- The migrating role writes Auth.js's users as the Auth.js pool does, through neonhub_auth's own
-- policies (forced row-level security leaves the owner no other way in): demo seeds and back-office
-- tools on the migrating login (createUser) do not need a superuser. A role that may not grant it
-- (no CREATEROLE, no admin option) migrates all the same; createUser then names the GRANT to run.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role(current_user, 'neonhub_auth', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT neonhub_auth TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'role % is not a member of neonhub_auth: seeds and createUser need GRANT neonhub_auth TO %', current_user, current_user;
    END;
  END IF;
END $$;
