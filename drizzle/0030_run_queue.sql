CREATE TABLE "agent_run_queues" (
	"organization_id" uuid NOT NULL,
	"ready_at" timestamp with time zone DEFAULT now() NOT NULL,
	"visited_at" timestamp with time zone,
	CONSTRAINT "agent_run_queues_pkey" PRIMARY KEY("organization_id")
);
--> statement-breakpoint
ALTER TABLE "agent_run_queues" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "run_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "max_attempts" integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "backoff_seconds" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agent_run_queues" ADD CONSTRAINT "agent_run_queues_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_run_queues_ready_at_idx" ON "agent_run_queues" USING btree ("ready_at");--> statement-breakpoint
-- Partial indexes of the queue: only queued and running runs, a small part of agent_runs. The migrator
-- runs each migration in one transaction, where CONCURRENTLY cannot; on a table of many millions of
-- runs, build them with CREATE INDEX CONCURRENTLY under these names before deploying.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agent_runs_queue_idx" ON "agent_runs" USING btree ("organization_id","priority" DESC NULLS LAST,"run_at","id") WHERE "agent_runs"."status" = 'queued';--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agent_runs_due_idx" ON "agent_runs" USING btree ("organization_id","run_at") WHERE "agent_runs"."status" = 'queued';--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agent_runs_lease_idx" ON "agent_runs" USING btree ("organization_id","lease_expires_at") WHERE "agent_runs"."status" = 'running';--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_priority_check" CHECK ("agent_runs"."priority" between -1000 and 1000);--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_attempts_check" CHECK ("agent_runs"."attempts" between 0 and 100);--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_max_attempts_check" CHECK ("agent_runs"."max_attempts" between 1 and 100);--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_backoff_seconds_check" CHECK ("agent_runs"."backoff_seconds" between 0 and 86400);--> statement-breakpoint
CREATE POLICY "agent_runs_definer_select" ON "agent_runs" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "agent_runs_definer_update" ON "agent_runs" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "agents_definer_select" ON "agents" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "agent_run_queues_definer_select" ON "agent_run_queues" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "agent_run_queues_definer_insert" ON "agent_run_queues" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "agent_run_queues_definer_update" ON "agent_run_queues" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);