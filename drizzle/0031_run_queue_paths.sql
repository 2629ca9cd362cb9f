-- The run queue: tenants enqueue in their own scope; workers, which are no tenant, claim across
-- tenants only through app_claim_runs, proved with the service key. agent_run_queues says which
-- tenants may have work, so a claim visits a few tenants (one shard each on Citus), never all runs.

GRANT SELECT, INSERT, UPDATE ON agent_run_queues TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT, UPDATE ON agent_runs TO neonhub_definer;
--> statement-breakpoint
GRANT SELECT ON agents TO neonhub_definer;
--> statement-breakpoint
-- A run whose attempt failed or whose worker vanished goes back to the queue: running -> queued.
CREATE OR REPLACE FUNCTION app_agent_run_transition() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
       (OLD.status = 'queued' AND NEW.status IN ('running', 'cancelled', 'failed', 'timed_out'))
    OR (OLD.status = 'running' AND NEW.status IN ('queued', 'succeeded', 'failed', 'cancelled', 'timed_out'))
  ) THEN
    RAISE EXCEPTION 'agent run % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'agent_runs_status_transition_check',
            TABLE = 'agent_runs', SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'status';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
-- The current tenant may have a run to claim from `due` on (an enqueue, a retry, a release): lowers
-- its ready_at, and wakes listening workers when the run is due now. The row is locked whatever it
-- held, so a claim visiting the tenant at the same moment finishes first and this runs after it.
CREATE OR REPLACE FUNCTION public.app_run_queue_wake(due timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  org uuid := public.app_current_org_id();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'runs are queued in their tenant''s scope (withTenant)' USING ERRCODE = 'insufficient_privilege', TABLE = 'agent_run_queues';
  END IF;
  IF due IS NULL THEN
    RAISE EXCEPTION 'a run needs the time it is due' USING ERRCODE = 'not_null_violation', TABLE = 'agent_runs', COLUMN = 'run_at';
  END IF;
  INSERT INTO public.agent_run_queues AS q (organization_id, ready_at) VALUES (org, due)
  ON CONFLICT (organization_id) DO UPDATE SET ready_at = excluded.ready_at WHERE q.ready_at > excluded.ready_at;
  IF due <= now() THEN
    PERFORM pg_notify('neonhub_agent_runs', '');
  END IF;
END $$;
--> statement-breakpoint
-- A worker is about to change runs it claimed (finish, fail, release): locks the current tenant's
-- queue row first, as a claim does, and keeps it to the end of the transaction, so the wake or
-- slot_freed that follows the change waits for nothing.
CREATE OR REPLACE FUNCTION public.app_run_queue_hold() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  org uuid := public.app_current_org_id();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'runs are finished in their tenant''s scope (withTenant)' USING ERRCODE = 'insufficient_privilege', TABLE = 'agent_run_queues';
  END IF;
  -- Lock order, as in app_claim_runs: the queue row, then runs (runs first here deadlocked a claim taking back their expired leases).
  PERFORM FROM public.agent_run_queues q WHERE q.organization_id = org FOR UPDATE;
END $$;
--> statement-breakpoint
-- A run of the current tenant finished: a tenant that claims left waiting at its concurrency limit
-- (ready_at in the future) is ready again. Workers call app_run_queue_hold before the finish, so
-- the queue row is locked before the runs, as a claim locks them.
CREATE OR REPLACE FUNCTION public.app_run_queue_slot_freed() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  org uuid := public.app_current_org_id();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'runs are finished in their tenant''s scope (withTenant)' USING ERRCODE = 'insufficient_privilege', TABLE = 'agent_run_queues';
  END IF;
  UPDATE public.agent_run_queues q SET ready_at = now()
  WHERE q.organization_id = org AND q.ready_at > now() AND q.ready_at < 'infinity';
  IF FOUND THEN
    PERFORM pg_notify('neonhub_agent_runs', '');
  END IF;
END $$;
--> statement-breakpoint
-- Workers are no tenant: every cross-tenant call of the queue carries the service key's HMAC of
-- its purpose and issue time, so a statement injected into a tenant's scope cannot claim or list
-- other tenants' runs.
CREATE OR REPLACE FUNCTION public.app_run_queue_check_proof(purpose text, issued_ms bigint, proof bytea) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  PERFORM public.app_check_fresh(issued_ms);
  IF NOT public.app_service_signed('neonhub/run-queue/v1:' || purpose || ':' || issued_ms, proof) THEN
    RAISE EXCEPTION 'run queue % refused: a wrong proof (workers prove the key ring''s service key)', purpose
      USING ERRCODE = 'invalid_authorization_specification', TABLE = 'agent_run_queues';
  END IF;
END $$;
--> statement-breakpoint
-- Claims up to max_runs due runs (of the given agent kinds, or any) across tenants: ready tenants
-- least recently visited first, at most 16 of them, until max_runs are claimed, each given an even
-- share of what is left (a tenant without runs of these kinds gives its share to the next), at
-- most per_tenant_limit running at once; within a tenant by priority, then due time. Takes back
-- the tenant's expired leases first (queued again after the backoff, or failed after max_attempts).
-- Returns the runs as running, with a lease, and the organization the worker opens a scope for.
CREATE OR REPLACE FUNCTION public.app_claim_runs(
  kinds agent_kind[], max_runs integer, lease_seconds integer, per_tenant_limit integer, issued_ms bigint, proof bytea
) RETURNS TABLE (
  organization_id uuid, run_id uuid, agent_id uuid, agent_kind agent_kind, config_id uuid, input jsonb,
  attempt integer, max_attempts integer, lease_expires_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
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
  next_ready timestamptz;
  kind_agents uuid[];
  stamp timestamptz := now();
  visited_at_now timestamptz;
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
      -- The tenant's agents of these kinds first (a handful), so the pick walks agent_runs_queue_idx
      -- in its order and stops at `share` rows, whatever the backlog.
      IF kinds IS NOT NULL THEN
        SELECT array_agg(a.id) INTO kind_agents FROM public.agents a WHERE a.organization_id = org AND a.kind = ANY (kinds);
      END IF;
      RETURN QUERY
      WITH picked AS (
        SELECT q.id FROM public.agent_runs q
        WHERE q.organization_id = org AND q.status = 'queued' AND q.run_at <= now()
          AND (kinds IS NULL OR q.agent_id = ANY (kind_agents))
        ORDER BY q.priority DESC NULLS LAST, q.run_at, q.id
        LIMIT share
        FOR UPDATE SKIP LOCKED
      )
      UPDATE public.agent_runs r SET status = 'running', started_at = now(), finished_at = NULL,
        attempts = r.attempts + 1, lease_expires_at = now() + make_interval(secs => lease_seconds)
      FROM picked, public.agents a
      WHERE r.organization_id = org AND r.id = picked.id AND a.organization_id = org AND a.id = r.agent_id
      RETURNING r.organization_id, r.id, r.agent_id, a.kind, r.config_id, r.input, r.attempts, r.max_attempts, r.lease_expires_at;
      GET DIAGNOSTICS taken = ROW_COUNT;
      remaining := remaining - taken;
    END IF;
    -- When the tenant may next have work: now when it gave its whole share (more may be due), else
    -- its next due run or its next lease to expire; a tenant at its limit is looked at again within
    -- a second (a finish wakes it too: slot_freed).
    IF share > 0 AND taken = share THEN
      next_ready := now();
    ELSE
      SELECT least(
        (SELECT min(r.run_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'queued'),
        (SELECT min(r.lease_expires_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'running')
      ) INTO next_ready;
    END IF;
    IF per_tenant_limit IS NOT NULL AND running + taken >= per_tenant_limit THEN
      next_ready := greatest(next_ready, least(now() + interval '1 second',
        (SELECT min(r.lease_expires_at) FROM public.agent_runs r WHERE r.organization_id = org AND r.status = 'running')));
    END IF;
    -- A variable, not clock_timestamp() in the UPDATE: Citus refuses a volatile function there.
    visited_at_now := clock_timestamp();
    UPDATE public.agent_run_queues q SET visited_at = visited_at_now, ready_at = coalesce(next_ready, 'infinity')
    WHERE q.organization_id = org;
  END LOOP;
END $$;
--> statement-breakpoint
-- When the next run of any tenant may be due (null: nothing queued or running): an idle worker
-- sleeps until then, or until a notification.
CREATE OR REPLACE FUNCTION public.app_run_queue_next_ready(issued_ms bigint, proof bytea) RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  next_ready timestamptz;
BEGIN
  PERFORM public.app_run_queue_check_proof('next', issued_ms, proof);
  SELECT min(q.ready_at) INTO next_ready FROM public.agent_run_queues q WHERE q.ready_at < 'infinity';
  RETURN next_ready;
END $$;
--> statement-breakpoint
-- The queue per tenant and agent, for operators (neonhub-db runs): every shard on Citus.
CREATE OR REPLACE FUNCTION public.app_run_queue_stats(issued_ms bigint, proof bytea)
RETURNS TABLE (
  organization_id uuid, organization_slug text, agent_id uuid, agent_slug text, queued integer, due integer,
  oldest_due_at timestamptz, running integer, expired_leases integer
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  PERFORM public.app_run_queue_check_proof('stats', issued_ms, proof);
  RETURN QUERY
  SELECT r.organization_id, o.slug, r.agent_id, a.slug,
         (count(*) FILTER (WHERE r.status = 'queued'))::integer,
         (count(*) FILTER (WHERE r.status = 'queued' AND r.run_at <= now()))::integer,
         min(r.run_at) FILTER (WHERE r.status = 'queued' AND r.run_at <= now()),
         (count(*) FILTER (WHERE r.status = 'running'))::integer,
         (count(*) FILTER (WHERE r.status = 'running' AND r.lease_expires_at <= now()))::integer
  FROM public.agent_runs r
  JOIN public.agents a ON a.organization_id = r.organization_id AND a.id = r.agent_id
  JOIN public.organizations o ON o.id = r.organization_id
  WHERE r.status IN ('queued', 'running')
  GROUP BY r.organization_id, o.slug, r.agent_id, a.slug
  ORDER BY o.slug, a.slug;
END $$;
--> statement-breakpoint
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['app_run_queue_wake(timestamptz)', 'app_run_queue_hold()', 'app_run_queue_slot_freed()',
                           'app_claim_runs(agent_kind[], integer, integer, integer, bigint, bytea)',
                           'app_run_queue_next_ready(bigint, bytea)', 'app_run_queue_stats(bigint, bytea)'] LOOP
    EXECUTE format('ALTER FUNCTION public.%s OWNER TO neonhub_definer', f);
    EXECUTE format('REVOKE ALL ON FUNCTION public.%s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.%s TO neonhub_app', f);
  END LOOP;
END $$;
--> statement-breakpoint
-- Internal step of the functions above, not an entry point.
REVOKE EXECUTE ON FUNCTION public.app_run_queue_check_proof(text, bigint, bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_run_queue_check_proof(text, bigint, bytea) TO neonhub_definer;
--> statement-breakpoint
-- Runs queued before the queue existed are found by the next claim.
INSERT INTO agent_run_queues (organization_id, ready_at)
SELECT r.organization_id, min(r.run_at) FROM agent_runs r WHERE r.status IN ('queued', 'running') GROUP BY r.organization_id
ON CONFLICT (organization_id) DO NOTHING;
--> statement-breakpoint
SELECT app_install_table_hooks();
