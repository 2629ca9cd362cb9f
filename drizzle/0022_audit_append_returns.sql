-- The append returns the row it wrote: on Citus a transaction cannot read, as neonhub_app, shards a
-- definer function wrote in it, so recordAudit takes the row from the definer instead of reading it.
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
    transaction_timestamp(), new_prev_hash, new_hash, new_key_id)
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
