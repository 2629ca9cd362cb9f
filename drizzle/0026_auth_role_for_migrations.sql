-- The migrating role writes Auth.js's users as the Auth.js pool does, through neonhub_auth's own
-- policies (forced row-level security leaves the owner no other way in): demo seeds and back-office
-- tools on the migrating login (createUser) do not need a superuser.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role(current_user, 'neonhub_auth', 'MEMBER') THEN
    EXECUTE format('GRANT neonhub_auth TO %I', current_user);
  END IF;
END $$;
