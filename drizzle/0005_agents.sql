CREATE TABLE "agent_capabilities" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"agent_id" uuid NOT NULL,
	"capability" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_capabilities_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "agent_capabilities_organization_id_agent_id_capability_key" UNIQUE("organization_id","agent_id","capability"),
	CONSTRAINT "agent_capabilities_capability_format_check" CHECK ("agent_capabilities"."capability" ~ '^[a-z][a-z0-9_]{1,62}$')
);
--> statement-breakpoint
ALTER TABLE "agent_capabilities" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_configs" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"agent_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"model" text NOT NULL,
	"temperature" real DEFAULT 0.7 NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"system_prompt" text NOT NULL,
	"change_note" text,
	"created_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_configs_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "agent_configs_organization_id_agent_id_version_key" UNIQUE("organization_id","agent_id","version"),
	CONSTRAINT "agent_configs_organization_id_id_agent_id_key" UNIQUE("organization_id","id","agent_id"),
	CONSTRAINT "agent_configs_version_check" CHECK ("agent_configs"."version" >= 1),
	CONSTRAINT "agent_configs_temperature_check" CHECK ("agent_configs"."temperature" between 0 and 2),
	CONSTRAINT "agent_configs_model_check" CHECK (length("agent_configs"."model") between 1 and 200)
);
--> statement-breakpoint
ALTER TABLE "agent_configs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_runs" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"agent_id" uuid NOT NULL,
	"config_id" uuid NOT NULL,
	"conversation_id" uuid,
	"parent_run_id" uuid,
	"trigger" "agent_run_trigger" NOT NULL,
	"status" "agent_run_status" DEFAULT 'queued' NOT NULL,
	"input" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"output" jsonb,
	"error" jsonb,
	"model" text,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"cost_amount" numeric(14, 6) DEFAULT '0' NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"latency_ms" integer,
	"time_to_first_token_ms" integer,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"idempotency_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_runs_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "agent_runs_organization_id_idempotency_key_key" UNIQUE("organization_id","idempotency_key"),
	CONSTRAINT "agent_runs_tokens_check" CHECK ("agent_runs"."prompt_tokens" >= 0 and "agent_runs"."completion_tokens" >= 0),
	CONSTRAINT "agent_runs_cost_check" CHECK ("agent_runs"."cost_amount" >= 0),
	CONSTRAINT "agent_runs_currency_check" CHECK ("agent_runs"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "agent_runs_latency_check" CHECK (("agent_runs"."latency_ms" is null or "agent_runs"."latency_ms" >= 0) and ("agent_runs"."time_to_first_token_ms" is null or "agent_runs"."time_to_first_token_ms" >= 0)),
	CONSTRAINT "agent_runs_finished_after_started_check" CHECK ("agent_runs"."finished_at" >= "agent_runs"."started_at"),
	CONSTRAINT "agent_runs_status_check" CHECK (("agent_runs"."status" = 'queued' and "agent_runs"."started_at" is null and "agent_runs"."finished_at" is null)
        or ("agent_runs"."status" = 'running' and "agent_runs"."started_at" is not null and "agent_runs"."finished_at" is null)
        or ("agent_runs"."status" in ('succeeded', 'failed', 'cancelled', 'timed_out') and "agent_runs"."finished_at" is not null)),
	CONSTRAINT "agent_runs_error_check" CHECK ("agent_runs"."status" <> 'failed' or "agent_runs"."error" is not null),
	CONSTRAINT "agent_runs_idempotency_key_check" CHECK (length("agent_runs"."idempotency_key") between 1 and 255),
	CONSTRAINT "agent_runs_parent_run_id_check" CHECK ("agent_runs"."parent_run_id" <> "agent_runs"."id")
);
--> statement-breakpoint
ALTER TABLE "agent_runs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_tools" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"agent_id" uuid NOT NULL,
	"tool_id" uuid NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_tools_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "agent_tools_organization_id_agent_id_tool_id_key" UNIQUE("organization_id","agent_id","tool_id")
);
--> statement-breakpoint
ALTER TABLE "agent_tools" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agents" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"brand_id" uuid,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"kind" "agent_kind" NOT NULL,
	"status" "agent_status" DEFAULT 'draft' NOT NULL,
	"current_config_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "agents_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "agents_slug_format_check" CHECK ("agents"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
);
--> statement-breakpoint
ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tool_executions" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"run_id" uuid NOT NULL,
	"tool_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"tool_call_id" text,
	"status" "tool_execution_status" DEFAULT 'running' NOT NULL,
	"input" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"output" jsonb,
	"error" jsonb,
	"latency_ms" integer,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tool_executions_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "tool_executions_organization_id_run_id_sequence_key" UNIQUE("organization_id","run_id","sequence"),
	CONSTRAINT "tool_executions_sequence_check" CHECK ("tool_executions"."sequence" >= 1),
	CONSTRAINT "tool_executions_latency_check" CHECK ("tool_executions"."latency_ms" is null or "tool_executions"."latency_ms" >= 0),
	CONSTRAINT "tool_executions_finished_after_started_check" CHECK ("tool_executions"."finished_at" >= "tool_executions"."started_at"),
	CONSTRAINT "tool_executions_status_check" CHECK (("tool_executions"."status" = 'running' and "tool_executions"."finished_at" is null) or ("tool_executions"."status" <> 'running' and "tool_executions"."finished_at" is not null)),
	CONSTRAINT "tool_executions_error_check" CHECK ("tool_executions"."status" <> 'failed' or "tool_executions"."error" is not null)
);
--> statement-breakpoint
ALTER TABLE "tool_executions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tools" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"input_schema" jsonb NOT NULL,
	"kind" "tool_kind" NOT NULL,
	"status" "tool_status" DEFAULT 'active' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tools_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "tools_organization_id_key_key" UNIQUE("organization_id","key"),
	CONSTRAINT "tools_key_format_check" CHECK ("tools"."key" ~ '^[a-z][a-z0-9_]{0,63}$'),
	CONSTRAINT "tools_input_schema_check" CHECK ("tools"."input_schema"->>'type' = 'object'),
	CONSTRAINT "tools_config_check" CHECK (("tools"."kind" <> 'http' or "tools"."config" ? 'http') and ("tools"."kind" <> 'mcp' or "tools"."config" ? 'mcp'))
);
--> statement-breakpoint
ALTER TABLE "tools" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"kind" "conversation_kind" DEFAULT 'chat' NOT NULL,
	"title" text,
	"brand_id" uuid,
	"agent_id" uuid,
	"created_by_user_id" uuid,
	"status" "conversation_status" DEFAULT 'active' NOT NULL,
	"last_message_at" timestamp with time zone DEFAULT now() NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "conversations_title_check" CHECK ("conversations"."title" is null or length("conversations"."title") between 1 and 500)
);
--> statement-breakpoint
ALTER TABLE "conversations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"role" "message_role" NOT NULL,
	"content" jsonb NOT NULL,
	"text" text DEFAULT '' NOT NULL,
	"tokens" integer,
	"model" text,
	"run_id" uuid,
	"parent_message_id" uuid,
	"embedding_space_id" uuid,
	"embedding_dimensions" integer,
	"embedding" halfvec,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "messages_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "messages_embedding_dimensions_check" CHECK (("messages"."embedding" is null and "messages"."embedding_space_id" is null and "messages"."embedding_dimensions" is null) or ("messages"."embedding" is not null and "messages"."embedding_space_id" is not null and vector_dims("messages"."embedding") = "messages"."embedding_dimensions")),
	CONSTRAINT "messages_content_check" CHECK (jsonb_typeof("messages"."content") = 'array' and jsonb_array_length("messages"."content") >= 1 and not jsonb_path_exists("messages"."content", '$[*] ? (!(@.type == "text" || @.type == "tool_call" || @.type == "tool_result" || @.type == "file"))')),
	CONSTRAINT "messages_tokens_check" CHECK ("messages"."tokens" is null or "messages"."tokens" >= 0),
	CONSTRAINT "messages_parent_message_id_check" CHECK ("messages"."parent_message_id" <> "messages"."id")
);
--> statement-breakpoint
ALTER TABLE "messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "agent_capabilities" ADD CONSTRAINT "agent_capabilities_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_capabilities" ADD CONSTRAINT "agent_capabilities_agent_id_fkey" FOREIGN KEY ("organization_id","agent_id") REFERENCES "public"."agents"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_configs" ADD CONSTRAINT "agent_configs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_configs" ADD CONSTRAINT "agent_configs_created_by_user_id_fkey" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_configs" ADD CONSTRAINT "agent_configs_agent_id_fkey" FOREIGN KEY ("organization_id","agent_id") REFERENCES "public"."agents"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_agent_id_fkey" FOREIGN KEY ("organization_id","agent_id") REFERENCES "public"."agents"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_config_id_fkey" FOREIGN KEY ("organization_id","config_id","agent_id") REFERENCES "public"."agent_configs"("organization_id","id","agent_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_parent_run_id_fkey" FOREIGN KEY ("organization_id","parent_run_id") REFERENCES "public"."agent_runs"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_tools" ADD CONSTRAINT "agent_tools_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_tools" ADD CONSTRAINT "agent_tools_agent_id_fkey" FOREIGN KEY ("organization_id","agent_id") REFERENCES "public"."agents"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_tools" ADD CONSTRAINT "agent_tools_tool_id_fkey" FOREIGN KEY ("organization_id","tool_id") REFERENCES "public"."tools"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_executions" ADD CONSTRAINT "tool_executions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_executions" ADD CONSTRAINT "tool_executions_run_id_fkey" FOREIGN KEY ("organization_id","run_id") REFERENCES "public"."agent_runs"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_executions" ADD CONSTRAINT "tool_executions_tool_id_fkey" FOREIGN KEY ("organization_id","tool_id") REFERENCES "public"."tools"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tools" ADD CONSTRAINT "tools_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_created_by_user_id_fkey" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("organization_id","conversation_id") REFERENCES "public"."conversations"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_message_id_fkey" FOREIGN KEY ("organization_id","parent_message_id") REFERENCES "public"."messages"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_configs_created_by_user_id_idx" ON "agent_configs" USING btree ("created_by_user_id");--> statement-breakpoint
CREATE INDEX "agent_runs_agent_id_created_at_idx" ON "agent_runs" USING btree ("organization_id","agent_id","created_at","id");--> statement-breakpoint
CREATE INDEX "agent_runs_config_id_idx" ON "agent_runs" USING btree ("organization_id","config_id","agent_id");--> statement-breakpoint
CREATE INDEX "agent_runs_conversation_id_idx" ON "agent_runs" USING btree ("organization_id","conversation_id");--> statement-breakpoint
CREATE INDEX "agent_runs_parent_run_id_idx" ON "agent_runs" USING btree ("organization_id","parent_run_id");--> statement-breakpoint
CREATE INDEX "agent_tools_tool_id_idx" ON "agent_tools" USING btree ("organization_id","tool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agents_organization_id_slug_key" ON "agents" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "agents_brand_id_idx" ON "agents" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE INDEX "agents_current_config_id_idx" ON "agents" USING btree ("organization_id","current_config_id","id");--> statement-breakpoint
CREATE INDEX "tool_executions_tool_id_idx" ON "tool_executions" USING btree ("organization_id","tool_id");--> statement-breakpoint
CREATE INDEX "conversations_created_by_user_id_last_message_at_idx" ON "conversations" USING btree ("created_by_user_id","organization_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "conversations_brand_id_idx" ON "conversations" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE INDEX "conversations_agent_id_idx" ON "conversations" USING btree ("organization_id","agent_id");--> statement-breakpoint
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages" USING btree ("organization_id","conversation_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_run_id_idx" ON "messages" USING btree ("organization_id","run_id");--> statement-breakpoint
CREATE INDEX "messages_parent_message_id_idx" ON "messages" USING btree ("organization_id","parent_message_id");--> statement-breakpoint
CREATE INDEX "messages_embedding_space_id_idx" ON "messages" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE POLICY "agent_capabilities_tenant_isolation" ON "agent_capabilities" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_configs_tenant_isolation" ON "agent_configs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_runs_tenant_isolation" ON "agent_runs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_tools_tenant_isolation" ON "agent_tools" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agents_tenant_isolation" ON "agents" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tool_executions_tenant_isolation" ON "tool_executions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tools_tenant_isolation" ON "tools" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "conversations_tenant_isolation" ON "conversations" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "messages_tenant_isolation" ON "messages" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());