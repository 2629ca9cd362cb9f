-- hybridSearch's full-text side through the GIN index on search_vector. A scope's own query cannot
-- use it: under the tenant's forced row-level security PostgreSQL runs no condition that is not
-- leakproof (`@@` is not) ahead of the policy, so it read every chunk of its filter and matched
-- each (30 ms for tenant t0's 30,215 chunks). This function checks that it is asked for the
-- current tenant, then reads as neonhub_definer, whose policy lets the index answer `@@`.
CREATE POLICY "chunks_definer_select" ON "chunks" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);
--> statement-breakpoint
GRANT SELECT ON chunks TO neonhub_definer;
--> statement-breakpoint
-- The `pool` best matches of `words` among the tenant's chunks of `dataset_ids`, ranked by ts_rank
-- (then id). Sorting stays on (a search runs with it off) and jit off, as for every search. Each
-- call is planned with its values: a generic plan knows neither the datasets nor the words, and
-- left the datasets out of the index scan (t0-d5 of the bench: 4,664 rows read for 314).
CREATE FUNCTION public.app_chunk_text_matches(org uuid, words tsquery, dataset_ids uuid[], pool integer)
RETURNS TABLE (id uuid, rank bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET enable_sort = on
SET jit = off
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  IF org IS NULL OR org IS DISTINCT FROM public.app_current_org_id() THEN
    RAISE EXCEPTION 'full-text matches are read for the current tenant only'
      USING ERRCODE = 'insufficient_privilege', TABLE = 'chunks';
  END IF;
  RETURN QUERY
  SELECT best.id, row_number() OVER (ORDER BY best.relevance DESC, best.id)
  FROM (
    SELECT c.id, ts_rank(c.search_vector, words) AS relevance
    FROM public.chunks c
    WHERE c.organization_id = org AND c.search_vector @@ words AND c.dataset_id = ANY (dataset_ids)
    ORDER BY relevance DESC, c.id
    LIMIT pool
  ) best;
END $$;
--> statement-breakpoint
ALTER FUNCTION public.app_chunk_text_matches(uuid, tsquery, uuid[], integer) OWNER TO neonhub_definer;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION public.app_chunk_text_matches(uuid, tsquery, uuid[], integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_chunk_text_matches(uuid, tsquery, uuid[], integer) TO neonhub_app;
