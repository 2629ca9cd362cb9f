-- The scope check tries the common ticket first: one of the asked kind, sealed for this backend's
-- transaction, its seal computed inline. Policies call it once per scan, not once per statement as
-- migration 0022 said: 25 times in a top-10 chunk search (each hit's chunk and document lookups
-- re-run it), at about 40 µs each through the format checks, app_hmac and app_scope_binding, now
-- about 14. A ticket that fails the inline seal (malformed, of the other kind, bound to a
-- distributed transaction, forged) takes the checks of migration 0022 unchanged, with their errors.
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
  SELECT s.verifier INTO secret FROM public.scope_secrets s WHERE s.name = 'ticket';
  -- app_hmac over what app_scope_binding('b') returns, written out: two function calls cost more
  -- than the rest of the check.
  IF parts[1] = kind AND parts[2] = 'b' AND pg_catalog.cardinality(parts) = 4
     AND parts[4] = pg_catalog.encode(pg_catalog.sha256(pg_catalog.substr(secret, 65, 64) || pg_catalog.sha256(
       pg_catalog.substr(secret, 1, 64) || pg_catalog.convert_to(kind || ':b:' || parts[3] || ':'
         || pg_catalog.pg_backend_pid()::text || ':'
         || (extract(epoch FROM pg_catalog.transaction_timestamp()) * 1000000)::bigint::text, 'UTF8'))), 'hex') THEN
    RETURN parts[3]::pg_catalog.uuid;
  END IF;
  IF pg_catalog.cardinality(parts) <> 4 OR parts[1] NOT IN ('t', 'u') OR parts[2] NOT IN ('b', 'd')
     OR parts[3] !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' OR parts[4] !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'app.scope does not hold a scope ticket' USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  IF parts[1] <> kind THEN
    RETURN NULL;
  END IF;
  IF public.app_hmac(secret, parts[1] || ':' || parts[2] || ':' || parts[3] || ':' || public.app_scope_binding(parts[2]))
     <> pg_catalog.decode(parts[4], 'hex') THEN
    RAISE EXCEPTION 'app.scope holds a ticket of another transaction, or a forged one'
      USING ERRCODE = 'invalid_authorization_specification';
  END IF;
  RETURN parts[3]::pg_catalog.uuid;
END $$;
