-- Citus cannot plan a multi-shard query with parameters inside a SQL-language function: the
-- sign-in screen's list becomes PL/pgSQL (each call planned with its value).
CREATE OR REPLACE FUNCTION public.app_user_organizations(person uuid)
RETURNS TABLE (id uuid, slug text, name text, role_key text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT o.id, o.slug, o.name, r.key
  FROM public.memberships m
  JOIN public.organizations o ON o.id = m.organization_id
  JOIN public.roles r ON r.organization_id = m.organization_id AND r.id = m.role_id
  WHERE m.user_id = person AND m.status = 'active' AND o.deleted_at IS NULL
  ORDER BY o.name, o.id;
END $$;
