-- Agents and chat guards drizzle-kit cannot express: the deferred current-config reference that
-- closes the agents <-> agent_configs cycle, column-list SET NULL references, immutable config
-- versions, run and tool-execution status transitions, and the table hooks.

-- agents <-> agent_configs reference each other. The agent's current config must be one of its own
-- versions (three-column key), and the check waits until commit so one transaction can create an
-- agent and its first version in either order. Configs are deleted only with their agent or
-- organization, in the same statement as the agent row, so the deferred check then finds nothing.
ALTER TABLE agents ADD CONSTRAINT agents_current_config_id_fkey
  FOREIGN KEY (organization_id, current_config_id, id)
  REFERENCES agent_configs (organization_id, id, agent_id)
  DEFERRABLE INITIALLY DEFERRED;
--> statement-breakpoint
-- A purged brand leaves its agents and conversations in place, brandless.
ALTER TABLE agents ADD CONSTRAINT agents_brand_id_fkey
  FOREIGN KEY (organization_id, brand_id) REFERENCES brands (organization_id, id)
  ON DELETE SET NULL (brand_id);
--> statement-breakpoint
ALTER TABLE conversations ADD CONSTRAINT conversations_brand_id_fkey
  FOREIGN KEY (organization_id, brand_id) REFERENCES brands (organization_id, id)
  ON DELETE SET NULL (brand_id);
--> statement-breakpoint
ALTER TABLE conversations ADD CONSTRAINT conversations_agent_id_fkey
  FOREIGN KEY (organization_id, agent_id) REFERENCES agents (organization_id, id)
  ON DELETE SET NULL (agent_id);
--> statement-breakpoint
-- Run telemetry outlives the conversation it answered in; a message outlives its run's telemetry.
ALTER TABLE agent_runs ADD CONSTRAINT agent_runs_conversation_id_fkey
  FOREIGN KEY (organization_id, conversation_id) REFERENCES conversations (organization_id, id)
  ON DELETE SET NULL (conversation_id);
--> statement-breakpoint
ALTER TABLE messages ADD CONSTRAINT messages_run_id_fkey
  FOREIGN KEY (organization_id, run_id) REFERENCES agent_runs (organization_id, id)
  ON DELETE SET NULL (run_id);
--> statement-breakpoint
-- Config versions are immutable: UPDATE and DELETE are refused, unless a referential action runs
-- them (inside its trigger, depth >= 1): the cascade from the agent or the organization, and
-- SET NULL of created_by_user_id when the author's user is deleted.
CREATE TRIGGER agent_configs_refuse_change BEFORE UPDATE OR DELETE ON agent_configs
  FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION app_refuse_change();
--> statement-breakpoint
-- A run's status only moves forward: queued -> running -> succeeded | failed | cancelled |
-- timed_out, or queued straight to cancelled | failed | timed_out. Terminal statuses are final.
CREATE OR REPLACE FUNCTION app_agent_run_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
       (OLD.status = 'queued' AND NEW.status IN ('running', 'cancelled', 'failed', 'timed_out'))
    OR (OLD.status = 'running' AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))
  ) THEN
    RAISE EXCEPTION 'agent run % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'agent_runs_status_transition_check',
            TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'status';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER agent_runs_status_transition BEFORE UPDATE OF status ON agent_runs
  FOR EACH ROW EXECUTE FUNCTION app_agent_run_transition();
--> statement-breakpoint
-- A tool execution finishes once: running -> succeeded | failed.
CREATE OR REPLACE FUNCTION app_tool_execution_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'running' THEN
    RAISE EXCEPTION 'tool execution % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'tool_executions_status_transition_check',
            TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA, COLUMN = 'status';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER tool_executions_status_transition BEFORE UPDATE OF status ON tool_executions
  FOR EACH ROW EXECUTE FUNCTION app_tool_execution_transition();
--> statement-breakpoint
-- Agents and chat tables: updated_at triggers, forced RLS and neonhub_app grants.
SELECT app_install_table_hooks();
--> statement-breakpoint
-- Messages carry embeddings: give them the per-space ANN index of every space already registered.
SELECT app_ensure_embedding_indexes();
