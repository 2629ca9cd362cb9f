-- A worker's two hot calls in one round trip each. A claim answers, with its runs, when the next run
-- of any tenant may be due (what an idle worker sleeps until), so it needs no second call. A worker
-- finishes the runs it claimed without opening their tenant's scope: the call names the tenant and
-- each run's attempt, carries the service key's proof of both, and changes only runs still running
-- under that attempt (a run taken over, released, finished or never claimed is left as it is).

-- app_claim_runs, then one more row, its run columns null, with when the next run may be due (now
-- when the claim took max_runs: more may be due; null: nothing queued or running).
CREATE OR REPLACE FUNCTION public.app_claim_runs_next(
  kinds agent_kind[], max_runs integer, lease_seconds integer, per_tenant_limit integer, issued_ms bigint, proof bytea
) RETURNS TABLE (
  organization_id uuid, run_id uuid, agent_id uuid, agent_kind agent_kind, config_id uuid, input jsonb,
  attempt integer, max_attempts integer, lease_expires_at timestamptz, next_ready timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  taken integer;
  next_due timestamptz;
BEGIN
  RETURN QUERY
  SELECT c.organization_id, c.run_id, c.agent_id, c.agent_kind, c.config_id, c.input, c.attempt, c.max_attempts,
         c.lease_expires_at, NULL::timestamptz
  FROM public.app_claim_runs(kinds, max_runs, lease_seconds, per_tenant_limit, issued_ms, proof) c;
  GET DIAGNOSTICS taken = ROW_COUNT;
  -- The queue as this claim left it, read as app_run_queue_next_ready reads it.
  IF taken >= max_runs THEN
    next_due := now();
  ELSE
    SELECT min(q.ready_at) INTO next_due FROM public.agent_run_queues q WHERE q.ready_at < 'infinity';
  END IF;
  RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::agent_kind, NULL::uuid, NULL::jsonb, NULL::integer,
                      NULL::integer, NULL::timestamptz, next_due;
END $$;
--> statement-breakpoint
-- Finishes runs of one tenant that a worker claimed, each with its terminal status and telemetry as
-- finishRuns writes them: only a run of `org` still running under the attempt named. Makes a tenant
-- waiting at its concurrency limit ready again (app_run_queue_slot_freed). Returns the ids of the
-- runs it finished.
CREATE OR REPLACE FUNCTION public.app_finish_runs(org uuid, runs jsonb, issued_ms bigint, proof bytea)
RETURNS TABLE (run_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  -- `stamp`, not now(), in the statements: Citus refuses a function that is not immutable beside a shard's columns there.
  stamp timestamptz := now();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'a finish names the runs'' organization' USING ERRCODE = 'not_null_violation', TABLE = 'agent_runs', COLUMN = 'organization_id';
  END IF;
  PERFORM public.app_run_queue_check_proof('finish:' || org, issued_ms, proof);
  IF runs IS NULL OR pg_catalog.jsonb_typeof(runs) <> 'array' OR pg_catalog.jsonb_array_length(runs) NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'a finish takes 1 to 1000 runs' USING ERRCODE = 'invalid_parameter_value', TABLE = 'agent_runs';
  END IF;
  IF EXISTS (
    SELECT FROM pg_catalog.jsonb_to_recordset(runs) AS v(id uuid, attempt integer, status agent_run_status)
    WHERE v.id IS NULL OR v.attempt IS NULL OR v.status IS NULL OR v.status IN ('queued', 'running')
  ) THEN
    RAISE EXCEPTION 'each run of a finish needs its id, its attempt and a terminal status'
      USING ERRCODE = 'invalid_parameter_value', TABLE = 'agent_runs', COLUMN = 'status';
  END IF;
  -- A slot of the tenant frees: a tenant whose due runs waited at its concurrency limit is ready
  -- again (app_run_queue_slot_freed, which also wakes a tenant whose next run is a lease or a
  -- scheduled run, so each finish cost an empty claim). Before the runs, so their locks come after
  -- the queue row's, as in a claim; and only then is the queue row locked: a claim of the tenant
  -- meanwhile (which holds it while it visits) neither waits for this finish nor passes it over.
  PERFORM FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'queued' AND r.run_at <= stamp LIMIT 1;
  IF FOUND THEN
    UPDATE public.agent_run_queues q SET ready_at = stamp
    WHERE q.organization_id = org AND q.ready_at > stamp AND q.ready_at < 'infinity';
    IF FOUND THEN
      PERFORM pg_notify('neonhub_agent_runs', '');
    END IF;
  END IF;
  RETURN QUERY
  UPDATE public.agent_runs r SET
    status = v.status, output = coalesce(v.output, r.output), error = coalesce(v.error, r.error),
    model = coalesce(v.model, r.model),
    prompt_tokens = coalesce(v.prompt_tokens, r.prompt_tokens),
    completion_tokens = coalesce(v.completion_tokens, r.completion_tokens),
    cost_amount = coalesce(v.cost_amount, r.cost_amount), currency = coalesce(v.currency, r.currency),
    time_to_first_token_ms = coalesce(v.time_to_first_token_ms, r.time_to_first_token_ms),
    lease_expires_at = NULL, finished_at = greatest(stamp, r.started_at),
    latency_ms = coalesce(v.latency_ms, (extract(epoch FROM greatest(stamp, r.started_at) - r.started_at) * 1000)::integer)
  FROM pg_catalog.jsonb_to_recordset(runs) AS v(
    id uuid, attempt integer, status agent_run_status, output jsonb, error jsonb, model text,
    prompt_tokens integer, completion_tokens integer, cost_amount numeric, currency text,
    latency_ms integer, time_to_first_token_ms integer)
  WHERE r.organization_id = org AND r.id = v.id AND r.status = 'running' AND r.attempts = v.attempt
  RETURNING r.id;
END $$;
--> statement-breakpoint
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['app_claim_runs_next(agent_kind[], integer, integer, integer, bigint, bytea)',
                           'app_finish_runs(uuid, jsonb, bigint, bytea)'] LOOP
    EXECUTE format('ALTER FUNCTION public.%s OWNER TO neonhub_definer', f);
    EXECUTE format('REVOKE ALL ON FUNCTION public.%s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.%s TO neonhub_app', f);
  END LOOP;
END $$;
