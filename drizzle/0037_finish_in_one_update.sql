-- A finish updates its runs in one statement again, as finishRuns does in a scope (migration 0035
-- made it one statement per run, as a claim's): the runs it finishes are running, so the update
-- reads the tenant's running runs alone, whatever the statistics have seen, and a statement per
-- run only added work to every finish (a finish of 8 runs: 0.82 and 0.87 ms in two drains with the
-- loop, 0.80 and 0.65 ms without). The check for due runs keeps its due order.
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
  -- In due order, so the queue's due index answers whatever the plan believes of the tenant (a plan
  -- for any tenant expected a match early in a scan of the whole table and read all of it).
  PERFORM FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'queued' AND r.run_at <= stamp
  ORDER BY r.run_at LIMIT 1;
  IF FOUND THEN
    UPDATE public.agent_run_queues q SET ready_at = stamp
    WHERE q.organization_id = org AND q.ready_at > stamp AND q.ready_at < 'infinity';
    IF FOUND THEN
      PERFORM pg_notify('neonhub_agent_runs', '');
    END IF;
  END IF;
  -- One update for all of them: `status = 'running'` lets the planner read the tenant's running
  -- runs alone (agent_runs_lease_idx), however few rows it believes the tenant has.
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
