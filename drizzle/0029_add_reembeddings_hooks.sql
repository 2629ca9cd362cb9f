-- Tables of 0028_add_reembeddings: forced RLS, updated_at triggers and neonhub_app grants
-- (drizzle-kit cannot express them). Re-embedded chunk vectors (chunk_embeddings) are searched
-- beside chunks, through an HNSW index of each tenant's rows as chunks are (built by the
-- re-embedding and the tenant-index maintenance), so registering a space indexes neither table.
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
      AND c.relname NOT IN ('chunks', 'chunk_embeddings')
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
--> statement-breakpoint
SELECT app_install_table_hooks();
