-- A claim's pick walks agent_runs_queue_idx in its order and stops at `share` rows, whatever the
-- planner believes of the tenant's backlog. Before the runs reach the statistics (a new database,
-- its first burst), it expected one row and sorted the whole backlog on every claim: 6 to 10 ms a
-- claim at 20,000 queued runs. So sorting is off in this function: where an index gives the order
-- the planner takes it, and the one sort it cannot avoid (the few ready tenants) still runs. jit is
-- off with it, as that sort's penalty cost would compile every call. On Citus the shard statements
-- are planned on the workers, with their own settings and statistics.
ALTER FUNCTION public.app_claim_runs(agent_kind[], integer, integer, integer, bigint, bytea) SET enable_sort = off;
--> statement-breakpoint
ALTER FUNCTION public.app_claim_runs(agent_kind[], integer, integer, integer, bigint, bytea) SET jit = off;
