-- Chunks are searched through an HNSW index of each tenant's rows (built and dropped by the
-- package's tenant-index maintenance as tenants grow and shrink), never through one shared by a
-- space's tenants: every chunk search names one tenant, a graph of all tenants serves such a
-- search badly (recall@10 0.88 to 0.95 where the tenant's own graph gives 1.000), and every row
-- written would go into both. So registering a space no longer indexes chunks; the other
-- embedding tables keep their per-space index. The shared chunk indexes of earlier databases are
-- dropped CONCURRENTLY by `neonhub-db maintain`: this migration takes no lock on chunks.
CREATE OR REPLACE FUNCTION app_ensure_embedding_indexes() RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  t record;
  s record;
  index_name text;
BEGIN
  -- Concurrent registrations would race on the same index names.
  PERFORM pg_advisory_xact_lock(hashtext('app_ensure_embedding_indexes'));
  FOR t IN
    SELECT c.relname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname <> 'chunks'
      AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'embedding'
                  AND NOT a.attisdropped AND a.atttypid = 'halfvec'::regtype)
      AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'embedding_space_id'
                  AND NOT a.attisdropped)
      AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'embedding_dimensions'
                  AND NOT a.attisdropped)
    ORDER BY c.relname
  LOOP
    FOR s IN SELECT id, dimensions, distance FROM embedding_spaces ORDER BY created_at, id LOOP
      index_name := app_embedding_index_name(t.relname, s.id);
      IF to_regclass(format('public.%I', index_name)) IS NULL THEN
        EXECUTE format(
          'CREATE INDEX IF NOT EXISTS %I ON public.%I USING hnsw ((embedding::halfvec(%s)) %s) WHERE embedding_space_id = %L AND embedding_dimensions = %s',
          index_name, t.relname, s.dimensions, app_embedding_opclass(s.distance), s.id, s.dimensions);
        RETURN NEXT index_name;
      END IF;
    END LOOP;
  END LOOP;
END $$;
