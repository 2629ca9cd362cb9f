-- RAG guards drizzle-kit cannot express: the SET NULL (column) reference of training jobs, the
-- per-space ANN indexes of every embedding table, and the table hooks.
ALTER TABLE training_jobs ADD CONSTRAINT training_jobs_output_model_version_id_fkey
  FOREIGN KEY (organization_id, output_model_version_id)
  REFERENCES model_versions (organization_id, id) ON DELETE SET NULL (output_model_version_id);
--> statement-breakpoint
-- The HNSW operator class of a distance (pgvector's halfvec classes).
CREATE OR REPLACE FUNCTION app_embedding_opclass(distance embedding_distance) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE distance
    WHEN 'cosine' THEN 'halfvec_cosine_ops'
    WHEN 'l2' THEN 'halfvec_l2_ops'
    WHEN 'inner_product' THEN 'halfvec_ip_ops'
  END
$$;
--> statement-breakpoint
-- `<table>_embedding_<last 12 hex digits of the space id>_hnsw_idx`: the random tail of the id, so
-- spaces registered in the same minute (UUIDv7 share their leading time bits) still differ.
CREATE OR REPLACE FUNCTION app_embedding_index_name(table_name text, space_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT format('%s_embedding_%s_hnsw_idx', table_name, right(replace(space_id::text, '-', ''), 12)) $$;
--> statement-breakpoint
-- Creates every missing per-space ANN index, on every table of the public schema that has an
-- `embedding` halfvec column and `embedding_space_id` and `embedding_dimensions` columns (found from the catalog, so tables
-- added later are covered when their migration calls this). pgvector's pattern for vectors of mixed
-- lengths: an HNSW index on the expression cast to the space's length, partial on the space, with
-- the space's operator class; queries that repeat the expression and the predicate use it. The
-- predicate names the length too: a row claiming another length for the space never reaches the
-- cast, so the `<table>_embedding_space_fkey` reference refuses it by name instead of the cast.
-- Returns the names of the indexes it created. Run by the schema owner (migrations, registration).
CREATE OR REPLACE FUNCTION app_ensure_embedding_indexes() RETURNS SETOF text
LANGUAGE plpgsql AS $$
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
-- Registers an embedding space (idempotent by provider, model and dimensions) and creates its ANN
-- index on every embedding table. Refuses to re-register a space with another distance.
CREATE OR REPLACE FUNCTION app_register_embedding_space(
  space_provider text,
  space_model text,
  space_dimensions integer,
  space_distance embedding_distance DEFAULT 'cosine'
) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  space embedding_spaces;
BEGIN
  INSERT INTO embedding_spaces (provider, model, dimensions, distance)
  VALUES (space_provider, space_model, space_dimensions, space_distance)
  ON CONFLICT ON CONSTRAINT embedding_spaces_provider_model_dimensions_key DO NOTHING;
  SELECT * INTO space FROM embedding_spaces
  WHERE provider = space_provider AND model = space_model AND dimensions = space_dimensions;
  IF space.distance <> space_distance THEN
    RAISE EXCEPTION 'embedding space %/% (% dimensions) is registered with distance %, not %',
      space_provider, space_model, space_dimensions, space.distance, space_distance
      USING ERRCODE = 'invalid_parameter_value', TABLE = 'embedding_spaces', COLUMN = 'distance';
  END IF;
  PERFORM app_ensure_embedding_indexes();
  RETURN space.id;
END $$;
--> statement-breakpoint
-- Index creation is the schema owner's business, never a tenant's.
REVOKE EXECUTE ON FUNCTION app_ensure_embedding_indexes() FROM PUBLIC;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION app_register_embedding_space(text, text, integer, embedding_distance) FROM PUBLIC;
--> statement-breakpoint
SELECT app_ensure_embedding_indexes();
--> statement-breakpoint
SELECT app_install_table_hooks();
