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
