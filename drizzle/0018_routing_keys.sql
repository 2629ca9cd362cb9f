-- Keys and tokens carry their organization, so the lookups before any tenant is known read one
-- tenant (one shard on Citus; FOR UPDATE across shards is refused).

-- API keys carry their organization: verification reads one tenant's keys (one shard on Citus).
DROP FUNCTION public.app_resolve_api_key(bytea);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_resolve_api_key(org uuid, candidate_hash bytea)
RETURNS TABLE (organization_id uuid, api_key_id uuid, scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  found record;
BEGIN
  SELECT k.organization_id, k.id, k.scopes, k.expires_at, k.revoked_at INTO found
  FROM public.api_keys k WHERE k.organization_id = org AND k.key_hash = candidate_hash;
  IF found.id IS NULL THEN
    RETURN;
  END IF;
  IF found.revoked_at IS NULL AND (found.expires_at IS NULL OR found.expires_at > now()) THEN
    UPDATE public.api_keys k SET last_used_at = now()
    WHERE k.organization_id = org AND k.id = found.id
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
ALTER FUNCTION public.app_resolve_api_key(uuid, bytea) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_resolve_api_key(uuid, bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_resolve_api_key(uuid, bytea) TO neonhub_app;
--> statement-breakpoint
-- Invitation tokens carry their organization: acceptance locks the invitation in that tenant only
-- (Citus refuses FOR UPDATE across shards, and a lookup by hash alone visits every shard).
DROP FUNCTION public.app_accept_invitation(uuid, bytea);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_accept_invitation(person uuid, org uuid, presented_hash bytea) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  invitation record;
  person_email text;
BEGIN
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
ALTER FUNCTION public.app_accept_invitation(uuid, uuid, bytea) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_accept_invitation(uuid, uuid, bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_accept_invitation(uuid, uuid, bytea) TO neonhub_app;
