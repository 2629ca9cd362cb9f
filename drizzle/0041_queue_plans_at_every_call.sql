-- The queue's claim and finish plan their statements at each call again, as before migration
-- 0040, which planned them once per connection for any tenant. A plan made once is kept for the
-- connection's life, and a worker makes it on whatever the table holds then: a worker that started
-- on a queue of no runs planned the claim's take-back of expired leases through the primary key,
-- then read every run of a tenant on each claim once a burst of 14,000 arrived (14,331 pages a
-- claim, against about 240 planned at each call; test/run-queue-early-plans.test.ts), until an ANALYZE
-- of agent_runs made it plan again. The claim's body stays in app_claim_runs_next.
CREATE OR REPLACE FUNCTION public.app_claim_runs_next(
  kinds agent_kind[], max_runs integer, lease_seconds integer, per_tenant_limit integer, issued_ms bigint, proof bytea
) RETURNS TABLE (
  organization_id uuid, run_id uuid, agent_id uuid, agent_kind agent_kind, config_id uuid, input jsonb,
  attempt integer, max_attempts integer, lease_expires_at timestamptz, next_ready timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET enable_sort = off
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
  tenants uuid[];
  org uuid;
  visited integer := 0;
  remaining integer := max_runs;
  share integer;
  running integer;
  taken integer;
  tenant_ready timestamptz;
  next_due timestamptz;
  stamp timestamptz := now();
  visited_at_now timestamptz;
  picked_ids uuid[];
  one_id uuid;
  one integer;
  agent_ids uuid[];
  agent_kinds agent_kind[];
BEGIN
  PERFORM public.app_run_queue_check_proof('claim', issued_ms, proof);
  IF max_runs IS NULL OR max_runs NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'limit must be 1 to 1000, got %', max_runs USING ERRCODE = 'invalid_parameter_value', TABLE = 'agent_runs';
  END IF;
  IF lease_seconds IS NULL OR lease_seconds NOT BETWEEN 1 AND 86400 THEN
    RAISE EXCEPTION 'leaseSeconds must be 1 to 86400, got %', lease_seconds
      USING ERRCODE = 'invalid_parameter_value', TABLE = 'agent_runs', COLUMN = 'lease_expires_at';
  END IF;
  IF per_tenant_limit IS NOT NULL AND per_tenant_limit < 1 THEN
    RAISE EXCEPTION 'perTenantLimit must be 1 or more, got %', per_tenant_limit USING ERRCODE = 'invalid_parameter_value', TABLE = 'agent_runs';
  END IF;
  -- The ready tenants least recently visited, at most 16: a claim touches no other tenant's rows.
  SELECT array_agg(t.organization_id ORDER BY t.visited_at NULLS FIRST, t.organization_id) INTO tenants
  FROM (
    SELECT q.organization_id, q.visited_at FROM public.agent_run_queues q
    WHERE q.ready_at <= now()
    ORDER BY q.visited_at NULLS FIRST, q.organization_id
    LIMIT 16
  ) t;
  FOREACH org IN ARRAY coalesce(tenants, '{}') LOOP
    EXIT WHEN remaining <= 0;
    visited := visited + 1;
    -- Locked, so two workers never visit one tenant at once (its running count stays exact); skipped
    -- when another worker holds it, so a busy tenant never holds a worker up.
    -- Lock order: the queue row, then the tenant's runs, as app_run_queue_hold takes them for a finish.
    PERFORM FROM public.agent_run_queues q WHERE q.organization_id = org AND q.ready_at <= now() FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    -- `stamp`, not now(): Citus refuses a function that is not immutable inside CASE in an UPDATE.
    -- The backoff (runBackoffSeconds in run-queue.ts) is added to UTC timestamps: Citus refuses a stable
    -- operator (timestamptz + interval) over a shard's columns.
    UPDATE public.agent_runs r SET
      status = CASE WHEN r.cancel_requested_at IS NOT NULL THEN 'cancelled'::agent_run_status
                    WHEN r.attempts >= r.max_attempts THEN 'failed'::agent_run_status
                    ELSE 'queued'::agent_run_status END,
      started_at = CASE WHEN r.cancel_requested_at IS NULL AND r.attempts < r.max_attempts THEN NULL ELSE r.started_at END,
      finished_at = CASE WHEN r.cancel_requested_at IS NULL AND r.attempts < r.max_attempts THEN NULL ELSE greatest(stamp, r.started_at) END,
      run_at = CASE WHEN r.cancel_requested_at IS NULL AND r.attempts < r.max_attempts
                    THEN ((stamp AT TIME ZONE 'UTC')
                          + make_interval(secs => least(r.backoff_seconds * power(2, greatest(r.attempts - 1, 0)), 86400))) AT TIME ZONE 'UTC'
                    ELSE r.run_at END,
      error = '{"code": "lease_expired", "message": "the worker''s lease expired before it finished"}'::jsonb,
      lease_expires_at = NULL
    WHERE r.organization_id = org AND r.status = 'running' AND r.lease_expires_at <= now();
    share := ceil(remaining::numeric / (cardinality(tenants) - visited + 1));
    IF per_tenant_limit IS NOT NULL THEN
      SELECT count(*) INTO running FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'running';
      share := least(share, greatest(per_tenant_limit - running, 0));
    END IF;
    taken := 0;
    IF share > 0 THEN
      -- The tenant's agents of these kinds first (a handful); their kinds go with the runs.
      SELECT array_agg(a.id ORDER BY a.id), array_agg(a.kind ORDER BY a.id) INTO agent_ids, agent_kinds
      FROM public.agents a WHERE a.organization_id = org AND (kinds IS NULL OR a.kind = ANY (kinds));
      -- The pick, in claim order: the tenant's queue walked in that order; for some kinds, each of
      -- their agents' queue walked for at most `share` runs, the best `share` of those kept, so no
      -- run of another kind is read.
      IF kinds IS NULL THEN
        SELECT array_agg(p.id ORDER BY p.priority DESC NULLS LAST, p.run_at, p.id) INTO picked_ids
        FROM (
          SELECT q.id, q.priority, q.run_at FROM public.agent_runs q
          WHERE q.organization_id = org AND q.status = 'queued' AND q.run_at <= now()
          ORDER BY q.priority DESC NULLS LAST, q.run_at, q.id
          LIMIT share
          FOR UPDATE SKIP LOCKED
        ) p;
      ELSE
        SELECT array_agg(p.id ORDER BY p.priority DESC NULLS LAST, p.run_at, p.id) INTO picked_ids
        FROM (
          SELECT x.id, x.priority, x.run_at
          FROM pg_catalog.unnest(agent_ids) AS a(id)
          CROSS JOIN LATERAL (
            SELECT q.id, q.priority, q.run_at FROM public.agent_runs q
            WHERE q.organization_id = org AND q.agent_id = a.id AND q.status = 'queued' AND q.run_at <= now()
            ORDER BY q.priority DESC NULLS LAST, q.run_at, q.id
            LIMIT share
            FOR UPDATE SKIP LOCKED
          ) x
          ORDER BY x.priority DESC NULLS LAST, x.run_at, x.id
          LIMIT share
        ) p;
      END IF;
      -- Each picked run is updated through its key, one statement per run: an update of the picked
      -- ids as a set is planned to check them as a filter over every run of the tenant whenever the
      -- plan expects few runs of it (a table not analyzed yet, a tenant the statistics have not seen).
      FOREACH one_id IN ARRAY coalesce(picked_ids, '{}') LOOP
        -- One table and its key: Citus routes it to the tenant's shard however it is planned (a join
        -- to agents planned for any values went to every shard).
        RETURN QUERY
        UPDATE public.agent_runs r SET status = 'running', started_at = now(), finished_at = NULL,
          attempts = r.attempts + 1, lease_expires_at = now() + make_interval(secs => lease_seconds)
        WHERE r.organization_id = org AND r.id = one_id
        RETURNING r.organization_id, r.id, r.agent_id, agent_kinds[array_position(agent_ids, r.agent_id)], r.config_id,
          r.input, r.attempts, r.max_attempts, r.lease_expires_at, NULL::timestamptz;
        GET DIAGNOSTICS one = ROW_COUNT;
        taken := taken + one;
      END LOOP;
      remaining := remaining - taken;
    END IF;
    -- When the tenant may next have work: now when it gave its whole share (more may be due), else
    -- its next due run or its next lease to expire; a tenant at its limit is looked at again within
    -- a second (a finish wakes it too: slot_freed).
    IF share > 0 AND taken = share THEN
      tenant_ready := now();
    ELSE
      SELECT least(
        (SELECT min(r.run_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'queued'),
        (SELECT min(r.lease_expires_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'running')
      ) INTO tenant_ready;
    END IF;
    IF per_tenant_limit IS NOT NULL AND running + taken >= per_tenant_limit THEN
      tenant_ready := greatest(tenant_ready, least(now() + interval '1 second',
        (SELECT min(r.lease_expires_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'running')));
    END IF;
    -- A variable, not clock_timestamp() in the UPDATE: Citus refuses a volatile function there.
    visited_at_now := clock_timestamp();
    UPDATE public.agent_run_queues q SET visited_at = visited_at_now, ready_at = coalesce(tenant_ready, 'infinity')
    WHERE q.organization_id = org;
  END LOOP;
  -- Then one row without a run: when the next run of any tenant may be due, as this claim left the
  -- queue (now when it took max_runs, since more may be due); what an idle worker sleeps until.
  IF remaining <= 0 THEN
    next_due := now();
  ELSE
    SELECT min(q.ready_at) INTO next_due FROM public.agent_run_queues q WHERE q.ready_at < 'infinity';
  END IF;
  RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::agent_kind, NULL::uuid, NULL::jsonb, NULL::integer,
                      NULL::integer, NULL::timestamptz, next_due;
END $$;
--> statement-breakpoint
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
