CREATE TYPE "public"."ab_test_status" AS ENUM('draft', 'running', 'completed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."agent_kind" AS ENUM('copywriter', 'social', 'email', 'seo', 'analytics', 'support', 'brand_voice', 'research', 'orchestrator', 'custom');--> statement-breakpoint
CREATE TYPE "public"."agent_run_status" AS ENUM('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out');--> statement-breakpoint
CREATE TYPE "public"."agent_run_trigger" AS ENUM('user', 'api', 'schedule', 'webhook', 'agent');--> statement-breakpoint
CREATE TYPE "public"."agent_status" AS ENUM('draft', 'active', 'paused', 'archived');--> statement-breakpoint
CREATE TYPE "public"."audit_actor_type" AS ENUM('user', 'api_key', 'agent', 'system');--> statement-breakpoint
CREATE TYPE "public"."brand_status" AS ENUM('active', 'archived');--> statement-breakpoint
CREATE TYPE "public"."campaign_status" AS ENUM('draft', 'scheduled', 'active', 'paused', 'completed', 'archived');--> statement-breakpoint
CREATE TYPE "public"."channel" AS ENUM('email', 'social', 'search', 'display', 'web', 'sms');--> statement-breakpoint
CREATE TYPE "public"."connector_status" AS ENUM('pending', 'connected', 'error', 'disabled');--> statement-breakpoint
CREATE TYPE "public"."content_kind" AS ENUM('blog_post', 'social_post', 'email', 'ad_copy', 'landing_page', 'video_script', 'product_description');--> statement-breakpoint
CREATE TYPE "public"."content_status" AS ENUM('draft', 'in_review', 'approved', 'published', 'archived');--> statement-breakpoint
CREATE TYPE "public"."conversation_kind" AS ENUM('chat', 'agent_session', 'support', 'brand_copilot');--> statement-breakpoint
CREATE TYPE "public"."conversation_status" AS ENUM('active', 'archived');--> statement-breakpoint
CREATE TYPE "public"."credential_kind" AS ENUM('oauth2', 'api_key', 'basic', 'webhook_secret');--> statement-breakpoint
CREATE TYPE "public"."dataset_kind" AS ENUM('documents', 'website', 'faq', 'product_catalog', 'brand_assets', 'conversation_log');--> statement-breakpoint
CREATE TYPE "public"."dataset_status" AS ENUM('empty', 'ingesting', 'ready', 'failed', 'archived');--> statement-breakpoint
CREATE TYPE "public"."document_status" AS ENUM('pending', 'processing', 'ready', 'failed');--> statement-breakpoint
CREATE TYPE "public"."embedding_distance" AS ENUM('cosine', 'l2', 'inner_product');--> statement-breakpoint
CREATE TYPE "public"."inference_endpoint_status" AS ENUM('provisioning', 'ready', 'failed', 'stopped');--> statement-breakpoint
CREATE TYPE "public"."invoice_status" AS ENUM('draft', 'open', 'paid', 'void', 'uncollectible');--> statement-breakpoint
CREATE TYPE "public"."membership_status" AS ENUM('invited', 'active', 'suspended');--> statement-breakpoint
CREATE TYPE "public"."message_role" AS ENUM('system', 'user', 'assistant', 'tool');--> statement-breakpoint
CREATE TYPE "public"."model_version_status" AS ENUM('training', 'ready', 'deprecated', 'failed');--> statement-breakpoint
CREATE TYPE "public"."organization_plan" AS ENUM('free', 'starter', 'pro', 'enterprise');--> statement-breakpoint
CREATE TYPE "public"."social_platform" AS ENUM('x', 'linkedin', 'facebook', 'instagram', 'tiktok', 'youtube');--> statement-breakpoint
CREATE TYPE "public"."social_post_status" AS ENUM('draft', 'scheduled', 'published', 'failed');--> statement-breakpoint
CREATE TYPE "public"."subscription_status" AS ENUM('trialing', 'active', 'past_due', 'canceled', 'incomplete', 'paused');--> statement-breakpoint
CREATE TYPE "public"."task_priority" AS ENUM('low', 'medium', 'high', 'urgent');--> statement-breakpoint
CREATE TYPE "public"."task_status" AS ENUM('todo', 'in_progress', 'blocked', 'done', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."tool_execution_status" AS ENUM('running', 'succeeded', 'failed');--> statement-breakpoint
CREATE TYPE "public"."tool_kind" AS ENUM('builtin', 'http', 'mcp');--> statement-breakpoint
CREATE TYPE "public"."tool_status" AS ENUM('active', 'disabled');--> statement-breakpoint
CREATE TYPE "public"."train_status" AS ENUM('queued', 'running', 'succeeded', 'failed', 'cancelled');--> statement-breakpoint
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
CREATE TABLE "audit_chain_heads" (
	"organization_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "audit_logs" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"seq" bigint DEFAULT 0 NOT NULL,
	"actor_type" "audit_actor_type" NOT NULL,
	"actor_id" uuid,
	"actor_label" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"request_id" text,
	"ip" "inet",
	"user_agent" text,
	"changes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"prev_hash" "bytea",
	"hash" "bytea",
	CONSTRAINT "audit_logs_pkey" PRIMARY KEY("organization_id","created_at","id"),
	CONSTRAINT "audit_logs_action_format_check" CHECK ("audit_logs"."action" ~ '^[a-z_]+\.[a-z_]+$'),
	CONSTRAINT "audit_logs_actor_check" CHECK (("audit_logs"."actor_type" = 'system') or ("audit_logs"."actor_id" is not null))
);
--> statement-breakpoint
ALTER TABLE "audit_logs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"subscription_id" uuid,
	"number" text NOT NULL,
	"status" "invoice_status" DEFAULT 'draft' NOT NULL,
	"currency" char(3) NOT NULL,
	"subtotal" numeric(14, 2) NOT NULL,
	"tax" numeric(14, 2) DEFAULT '0' NOT NULL,
	"total" numeric(14, 2) NOT NULL,
	"amount_paid" numeric(14, 2) DEFAULT '0' NOT NULL,
	"lines" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"period_start" timestamp with time zone,
	"period_end" timestamp with time zone,
	"issued_at" timestamp with time zone,
	"due_at" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"provider_invoice_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoices_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "invoices_organization_id_number_key" UNIQUE("organization_id","number"),
	CONSTRAINT "invoices_currency_check" CHECK ("invoices"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "invoices_amounts_check" CHECK ("invoices"."subtotal" >= 0 and "invoices"."tax" >= 0 and "invoices"."amount_paid" >= 0),
	CONSTRAINT "invoices_total_check" CHECK ("invoices"."total" = "invoices"."subtotal" + "invoices"."tax"),
	CONSTRAINT "invoices_amount_paid_check" CHECK ("invoices"."amount_paid" <= "invoices"."total"),
	CONSTRAINT "invoices_period_check" CHECK ("invoices"."period_end" is null or "invoices"."period_start" is null or "invoices"."period_end" > "invoices"."period_start"),
	CONSTRAINT "invoices_due_check" CHECK ("invoices"."due_at" is null or "invoices"."issued_at" is null or "invoices"."due_at" >= "invoices"."issued_at"),
	CONSTRAINT "invoices_issued_check" CHECK ("invoices"."status" = 'draft' or "invoices"."issued_at" is not null),
	CONSTRAINT "invoices_paid_check" CHECK ("invoices"."status" <> 'paid' or ("invoices"."paid_at" is not null and "invoices"."amount_paid" = "invoices"."total")),
	CONSTRAINT "invoices_number_check" CHECK (length(btrim("invoices"."number")) between 1 and 64)
);
--> statement-breakpoint
ALTER TABLE "invoices" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"plan" "organization_plan" NOT NULL,
	"status" "subscription_status" NOT NULL,
	"provider" text NOT NULL,
	"provider_customer_id" text,
	"provider_subscription_id" text,
	"seats" integer DEFAULT 1 NOT NULL,
	"unit_amount" numeric(14, 2) NOT NULL,
	"currency" char(3) NOT NULL,
	"current_period_start" timestamp with time zone NOT NULL,
	"current_period_end" timestamp with time zone NOT NULL,
	"trial_ends_at" timestamp with time zone,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"canceled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "subscriptions_organization_id_provider_subscription_id_key" UNIQUE("organization_id","provider","provider_subscription_id"),
	CONSTRAINT "subscriptions_period_check" CHECK ("subscriptions"."current_period_end" > "subscriptions"."current_period_start"),
	CONSTRAINT "subscriptions_seats_check" CHECK ("subscriptions"."seats" >= 1),
	CONSTRAINT "subscriptions_unit_amount_check" CHECK ("subscriptions"."unit_amount" >= 0),
	CONSTRAINT "subscriptions_currency_check" CHECK ("subscriptions"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "subscriptions_canceled_check" CHECK ("subscriptions"."status" <> 'canceled' or "subscriptions"."canceled_at" is not null),
	CONSTRAINT "subscriptions_trial_check" CHECK ("subscriptions"."status" <> 'trialing' or "subscriptions"."trial_ends_at" is not null)
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "usage_records" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"meter" text NOT NULL,
	"quantity" numeric(20, 6) NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"idempotency_key" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_records_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "usage_records_organization_id_idempotency_key_key" UNIQUE("organization_id","idempotency_key"),
	CONSTRAINT "usage_records_meter_format_check" CHECK ("usage_records"."meter" ~ '^[a-z][a-z0-9_.]{0,62}$'),
	CONSTRAINT "usage_records_quantity_check" CHECK ("usage_records"."quantity" >= 0),
	CONSTRAINT "usage_records_idempotency_key_check" CHECK (length("usage_records"."idempotency_key") between 1 and 200)
);
--> statement-breakpoint
ALTER TABLE "usage_records" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "brand_voices" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"brand_id" uuid NOT NULL,
	"name" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"prompt_template" text NOT NULL,
	"style_rules" jsonb NOT NULL,
	"examples" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"embedding_space_id" uuid,
	"embedding_dimensions" integer,
	"embedding" halfvec,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "brand_voices_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "brand_voices_version_check" CHECK ("brand_voices"."version" >= 1),
	CONSTRAINT "brand_voices_embedding_dimensions_check" CHECK (("brand_voices"."embedding" is null and "brand_voices"."embedding_space_id" is null and "brand_voices"."embedding_dimensions" is null) or ("brand_voices"."embedding" is not null and "brand_voices"."embedding_space_id" is not null and vector_dims("brand_voices"."embedding") = "brand_voices"."embedding_dimensions"))
);
--> statement-breakpoint
ALTER TABLE "brand_voices" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "brands" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"website" text,
	"industry" text,
	"status" "brand_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "brands_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "brands_slug_format_check" CHECK ("brands"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
);
--> statement-breakpoint
ALTER TABLE "brands" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "ab_test_variants" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"ab_test_id" uuid NOT NULL,
	"key" text NOT NULL,
	"content_version_id" uuid,
	"weight" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ab_test_variants_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "ab_test_variants_organization_id_ab_test_id_key_key" UNIQUE("organization_id","ab_test_id","key"),
	CONSTRAINT "ab_test_variants_key_check" CHECK ("ab_test_variants"."key" ~ '^[A-Za-z0-9_-]{1,40}$'),
	CONSTRAINT "ab_test_variants_weight_check" CHECK ("ab_test_variants"."weight" between 0 and 100)
);
--> statement-breakpoint
ALTER TABLE "ab_test_variants" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "ab_tests" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"campaign_id" uuid NOT NULL,
	"name" text NOT NULL,
	"hypothesis" text,
	"status" "ab_test_status" DEFAULT 'draft' NOT NULL,
	"goal_metric" text NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ab_tests_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "ab_tests_organization_id_campaign_id_name_key" UNIQUE("organization_id","campaign_id","name"),
	CONSTRAINT "ab_tests_goal_metric_format_check" CHECK ("ab_tests"."goal_metric" ~ '^[a-z][a-z0-9_]{0,62}$'),
	CONSTRAINT "ab_tests_dates_check" CHECK ("ab_tests"."ended_at" is null or "ab_tests"."started_at" is null or "ab_tests"."ended_at" >= "ab_tests"."started_at"),
	CONSTRAINT "ab_tests_running_check" CHECK ("ab_tests"."status" <> 'running' or "ab_tests"."started_at" is not null),
	CONSTRAINT "ab_tests_completed_check" CHECK ("ab_tests"."status" <> 'completed' or "ab_tests"."ended_at" is not null)
);
--> statement-breakpoint
ALTER TABLE "ab_tests" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "campaign_contents" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"campaign_id" uuid NOT NULL,
	"content_item_id" uuid NOT NULL,
	"channel" "channel",
	"position" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_contents_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "campaign_contents_organization_id_campaign_id_content_item_id_key" UNIQUE("organization_id","campaign_id","content_item_id"),
	CONSTRAINT "campaign_contents_position_check" CHECK ("campaign_contents"."position" >= 0)
);
--> statement-breakpoint
ALTER TABLE "campaign_contents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "campaign_metrics" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"campaign_id" uuid NOT NULL,
	"content_item_id" uuid,
	"channel" "channel" NOT NULL,
	"metric" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"value" numeric(20, 4) NOT NULL,
	"dimensions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_metrics_pkey" PRIMARY KEY("organization_id","bucket","id"),
	CONSTRAINT "campaign_metrics_point_key" UNIQUE NULLS NOT DISTINCT("organization_id","campaign_id","metric","bucket","channel","content_item_id"),
	CONSTRAINT "campaign_metrics_metric_format_check" CHECK ("campaign_metrics"."metric" ~ '^[a-z][a-z0-9_]{0,62}$'),
	CONSTRAINT "campaign_metrics_value_check" CHECK ("campaign_metrics"."value" >= 0),
	CONSTRAINT "campaign_metrics_bucket_hour_check" CHECK (extract(epoch from "campaign_metrics"."bucket") % 3600 = 0)
);
--> statement-breakpoint
ALTER TABLE "campaign_metrics" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"brand_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"status" "campaign_status" DEFAULT 'draft' NOT NULL,
	"objective" text,
	"budget" numeric(14, 2),
	"currency" char(3),
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"channels" "channel"[] DEFAULT '{}'::channel[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "campaigns_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "campaigns_slug_format_check" CHECK ("campaigns"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
	CONSTRAINT "campaigns_name_check" CHECK (length(btrim("campaigns"."name")) between 1 and 200),
	CONSTRAINT "campaigns_dates_check" CHECK ("campaigns"."ends_at" is null or "campaigns"."starts_at" is null or "campaigns"."ends_at" >= "campaigns"."starts_at"),
	CONSTRAINT "campaigns_budget_check" CHECK ("campaigns"."budget" is null or ("campaigns"."budget" >= 0 and "campaigns"."currency" is not null)),
	CONSTRAINT "campaigns_currency_check" CHECK ("campaigns"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "campaigns_status_check" CHECK ("campaigns"."status" not in ('scheduled', 'active', 'completed') or "campaigns"."starts_at" is not null)
);
--> statement-breakpoint
ALTER TABLE "campaigns" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "content_items" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"brand_id" uuid NOT NULL,
	"kind" "content_kind" NOT NULL,
	"title" text NOT NULL,
	"status" "content_status" DEFAULT 'draft' NOT NULL,
	"current_version_id" uuid,
	"published_at" timestamp with time zone,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "content_items_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "content_items_title_check" CHECK (length(btrim("content_items"."title")) between 1 and 300),
	CONSTRAINT "content_items_published_check" CHECK ("content_items"."status" <> 'published' or ("content_items"."published_at" is not null and "content_items"."current_version_id" is not null))
);
--> statement-breakpoint
ALTER TABLE "content_items" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "content_versions" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"content_item_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"body" text NOT NULL,
	"headline" text,
	"brand_voice_id" uuid,
	"agent_run_id" uuid,
	"notes" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "content_versions_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "content_versions_organization_id_content_item_id_version_key" UNIQUE("organization_id","content_item_id","version"),
	CONSTRAINT "content_versions_organization_id_content_item_id_id_key" UNIQUE("organization_id","content_item_id","id"),
	CONSTRAINT "content_versions_version_check" CHECK ("content_versions"."version" >= 1),
	CONSTRAINT "content_versions_body_check" CHECK (length("content_versions"."body") between 1 and 1000000)
);
--> statement-breakpoint
ALTER TABLE "content_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "email_sequence_steps" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"sequence_id" uuid NOT NULL,
	"ordinal" integer NOT NULL,
	"delay_minutes" integer DEFAULT 0 NOT NULL,
	"subject" text NOT NULL,
	"content_item_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "email_sequence_steps_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "email_sequence_steps_organization_id_sequence_id_ordinal_key" UNIQUE("organization_id","sequence_id","ordinal"),
	CONSTRAINT "email_sequence_steps_ordinal_check" CHECK ("email_sequence_steps"."ordinal" >= 1),
	CONSTRAINT "email_sequence_steps_delay_check" CHECK ("email_sequence_steps"."delay_minutes" between 0 and 525600),
	CONSTRAINT "email_sequence_steps_subject_check" CHECK (length(btrim("email_sequence_steps"."subject")) between 1 and 300)
);
--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "email_sequences" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"campaign_id" uuid,
	"name" text NOT NULL,
	"status" "campaign_status" DEFAULT 'draft' NOT NULL,
	"trigger" jsonb DEFAULT '{"event":"manual"}'::jsonb NOT NULL,
	"from_name" text,
	"from_email" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "email_sequences_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "email_sequences_organization_id_name_key" UNIQUE("organization_id","name"),
	CONSTRAINT "email_sequences_name_check" CHECK (length(btrim("email_sequences"."name")) between 1 and 200),
	CONSTRAINT "email_sequences_from_email_check" CHECK ("email_sequences"."from_email" ~ '^[^@\s]+@[^@\s]+$')
);
--> statement-breakpoint
ALTER TABLE "email_sequences" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "social_posts" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"campaign_id" uuid,
	"content_item_id" uuid NOT NULL,
	"platform" "social_platform" NOT NULL,
	"status" "social_post_status" DEFAULT 'draft' NOT NULL,
	"scheduled_at" timestamp with time zone,
	"published_at" timestamp with time zone,
	"external_id" text,
	"external_url" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "social_posts_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "social_posts_organization_id_platform_external_id_key" UNIQUE("organization_id","platform","external_id"),
	CONSTRAINT "social_posts_scheduled_check" CHECK ("social_posts"."status" <> 'scheduled' or "social_posts"."scheduled_at" is not null),
	CONSTRAINT "social_posts_published_check" CHECK ("social_posts"."status" <> 'published' or ("social_posts"."published_at" is not null and "social_posts"."external_id" is not null)),
	CONSTRAINT "social_posts_failed_check" CHECK ("social_posts"."status" <> 'failed' or "social_posts"."last_error" is not null)
);
--> statement-breakpoint
ALTER TABLE "social_posts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
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
CREATE TABLE "embedding_spaces" (
	"id" uuid PRIMARY KEY DEFAULT uuidv7() NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"dimensions" integer NOT NULL,
	"distance" "embedding_distance" DEFAULT 'cosine' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "embedding_spaces_provider_model_dimensions_key" UNIQUE("provider","model","dimensions"),
	CONSTRAINT "embedding_spaces_id_dimensions_key" UNIQUE("id","dimensions"),
	CONSTRAINT "embedding_spaces_dimensions_check" CHECK ("embedding_spaces"."dimensions" between 1 and 4000)
);
--> statement-breakpoint
CREATE TABLE "accounts" (
	"user_id" uuid NOT NULL,
	"type" text NOT NULL,
	"provider" text NOT NULL,
	"provider_account_id" text NOT NULL,
	"refresh_token" text,
	"access_token" text,
	"expires_at" integer,
	"token_type" text,
	"scope" text,
	"id_token" text,
	"session_state" text,
	CONSTRAINT "accounts_pkey" PRIMARY KEY("provider","provider_account_id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" "bytea" NOT NULL,
	"scopes" text[] DEFAULT '{}'::text[] NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"created_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "api_keys_organization_id_key_hash_key" UNIQUE("organization_id","key_hash"),
	CONSTRAINT "api_keys_key_hash_length_check" CHECK (octet_length("api_keys"."key_hash") = 32)
);
--> statement-breakpoint
ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "authenticators" (
	"credential_id" text NOT NULL,
	"user_id" uuid NOT NULL,
	"provider_account_id" text NOT NULL,
	"credential_public_key" text NOT NULL,
	"counter" integer NOT NULL,
	"credential_device_type" text NOT NULL,
	"credential_backed_up" boolean NOT NULL,
	"transports" text,
	CONSTRAINT "authenticators_pkey" PRIMARY KEY("user_id","credential_id"),
	CONSTRAINT "authenticators_credential_id_key" UNIQUE("credential_id")
);
--> statement-breakpoint
CREATE TABLE "credentials" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"provider" text NOT NULL,
	"kind" "credential_kind" NOT NULL,
	"label" text NOT NULL,
	"key_id" text NOT NULL,
	"secret" "bytea" NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rotated_at" timestamp with time zone,
	"created_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credentials_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "credentials_organization_id_provider_label_key" UNIQUE("organization_id","provider","label")
);
--> statement-breakpoint
ALTER TABLE "credentials" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "memberships" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"user_id" uuid NOT NULL,
	"role_id" uuid NOT NULL,
	"status" "membership_status" DEFAULT 'invited' NOT NULL,
	"invited_by_user_id" uuid,
	"invited_at" timestamp with time zone,
	"joined_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "memberships_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "memberships_organization_id_user_id_key" UNIQUE("organization_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "memberships" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" uuid PRIMARY KEY DEFAULT uuidv7() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"plan" "organization_plan" DEFAULT 'free' NOT NULL,
	"data_region" text DEFAULT 'us' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "organizations_slug_format_check" CHECK ("organizations"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
	CONSTRAINT "organizations_data_region_format_check" CHECK ("organizations"."data_region" ~ '^[a-z]{2}(-[a-z0-9]+)*$')
);
--> statement-breakpoint
ALTER TABLE "organizations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "permissions" (
	"key" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "permissions_key_format_check" CHECK ("permissions"."key" ~ '^[a-z_]+:[a-z_*]+$')
);
--> statement-breakpoint
CREATE TABLE "role_permissions" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"role_id" uuid NOT NULL,
	"permission_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "role_permissions_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "role_permissions_organization_id_role_id_permission_key_key" UNIQUE("organization_id","role_id","permission_key")
);
--> statement-breakpoint
ALTER TABLE "role_permissions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "roles" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"is_system" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "roles_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "roles_organization_id_key_key" UNIQUE("organization_id","key"),
	CONSTRAINT "roles_key_format_check" CHECK ("roles"."key" ~ '^[a-z][a-z0-9_]{1,62}$')
);
--> statement-breakpoint
ALTER TABLE "roles" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sessions" (
	"session_token" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"expires" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT uuidv7() NOT NULL,
	"name" text,
	"email" text NOT NULL,
	"email_verified" timestamp with time zone,
	"image" text,
	"locale" text DEFAULT 'en-US' NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_email_format_check" CHECK ("users"."email" ~ '^[^@\s]+@[^@\s]+$')
);
--> statement-breakpoint
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "verification_tokens" (
	"identifier" text NOT NULL,
	"token" text NOT NULL,
	"expires" timestamp with time zone NOT NULL,
	CONSTRAINT "verification_tokens_pkey" PRIMARY KEY("identifier","token")
);
--> statement-breakpoint
CREATE TABLE "connectors" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"provider" text NOT NULL,
	"name" text NOT NULL,
	"status" "connector_status" DEFAULT 'pending' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credential_id" uuid,
	"last_synced_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connectors_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "connectors_organization_id_provider_name_key" UNIQUE("organization_id","provider","name"),
	CONSTRAINT "connectors_provider_format_check" CHECK ("connectors"."provider" ~ '^[a-z][a-z0-9_]{1,62}$'),
	CONSTRAINT "connectors_name_check" CHECK (length(btrim("connectors"."name")) between 1 and 200),
	CONSTRAINT "connectors_error_check" CHECK ("connectors"."status" <> 'error' or "connectors"."last_error" is not null),
	CONSTRAINT "connectors_connected_check" CHECK ("connectors"."status" <> 'connected' or "connectors"."credential_id" is not null)
);
--> statement-breakpoint
ALTER TABLE "connectors" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "chunks" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"document_id" uuid NOT NULL,
	"ordinal" integer NOT NULL,
	"content" text NOT NULL,
	"token_count" integer DEFAULT 0 NOT NULL,
	"content_hash" text NOT NULL,
	"search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"embedding_space_id" uuid,
	"embedding_dimensions" integer,
	"embedding" halfvec,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chunks_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "chunks_ordinal_check" CHECK ("chunks"."ordinal" >= 0),
	CONSTRAINT "chunks_token_count_check" CHECK ("chunks"."token_count" >= 0),
	CONSTRAINT "chunks_content_check" CHECK (length("chunks"."content") > 0),
	CONSTRAINT "chunks_content_hash_check" CHECK (content_hash ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "chunks_embedding_dimensions_check" CHECK (("chunks"."embedding" is null and "chunks"."embedding_space_id" is null and "chunks"."embedding_dimensions" is null) or ("chunks"."embedding" is not null and "chunks"."embedding_space_id" is not null and vector_dims("chunks"."embedding") = "chunks"."embedding_dimensions"))
);
--> statement-breakpoint
ALTER TABLE "chunks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"kind" "dataset_kind" DEFAULT 'documents' NOT NULL,
	"embedding_space_id" uuid NOT NULL,
	"status" "dataset_status" DEFAULT 'empty' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "datasets_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "datasets_organization_id_id_embedding_space_id_key" UNIQUE("organization_id","id","embedding_space_id"),
	CONSTRAINT "datasets_slug_format_check" CHECK ("datasets"."slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
);
--> statement-breakpoint
ALTER TABLE "datasets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "documents" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"source_uri" text,
	"title" text NOT NULL,
	"mime_type" text DEFAULT 'text/plain' NOT NULL,
	"content_hash" text,
	"status" "document_status" DEFAULT 'pending' NOT NULL,
	"error" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "documents_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "documents_organization_id_dataset_id_id_key" UNIQUE("organization_id","dataset_id","id"),
	CONSTRAINT "documents_organization_id_dataset_id_source_uri_key" UNIQUE("organization_id","dataset_id","source_uri"),
	CONSTRAINT "documents_content_hash_check" CHECK (content_hash ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "documents_title_check" CHECK (length("documents"."title") between 1 and 1000),
	CONSTRAINT "documents_failed_error_check" CHECK ("documents"."status" <> 'failed' or "documents"."error" is not null)
);
--> statement-breakpoint
ALTER TABLE "documents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "inference_endpoints" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"model_version_id" uuid NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"status" "inference_endpoint_status" DEFAULT 'provisioning' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inference_endpoints_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "inference_endpoints_url_check" CHECK ("inference_endpoints"."url" ~ '^https?://[^\s/]+')
);
--> statement-breakpoint
ALTER TABLE "inference_endpoints" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"name" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"provider" text NOT NULL,
	"base_model" text NOT NULL,
	"artifact_uri" text,
	"status" "model_version_status" DEFAULT 'training' NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "model_versions_version_check" CHECK ("model_versions"."version" >= 1),
	CONSTRAINT "model_versions_ready_artifact_check" CHECK ("model_versions"."status" <> 'ready' or "model_versions"."artifact_uri" is not null)
);
--> statement-breakpoint
ALTER TABLE "model_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "training_jobs" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"base_model" text NOT NULL,
	"output_model_version_id" uuid,
	"status" "train_status" DEFAULT 'queued' NOT NULL,
	"hyperparameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_jobs_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "training_jobs_started_check" CHECK ("training_jobs"."started_at" is null or "training_jobs"."started_at" >= "training_jobs"."queued_at"),
	CONSTRAINT "training_jobs_finished_check" CHECK ("training_jobs"."finished_at" is null or ("training_jobs"."started_at" is not null and "training_jobs"."finished_at" >= "training_jobs"."started_at")),
	CONSTRAINT "training_jobs_status_check" CHECK (("training_jobs"."status" not in ('running', 'succeeded', 'failed') or "training_jobs"."started_at" is not null)
        and ("training_jobs"."status" not in ('succeeded', 'failed') or "training_jobs"."finished_at" is not null)
        and ("training_jobs"."status" in ('succeeded', 'failed', 'cancelled') or "training_jobs"."finished_at" is null)
        and ("training_jobs"."status" <> 'failed' or "training_jobs"."error" is not null))
);
--> statement-breakpoint
ALTER TABLE "training_jobs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "feedback" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"message_id" uuid,
	"content_version_id" uuid,
	"agent_run_id" uuid,
	"rating" smallint,
	"comment" text,
	"user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedback_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "feedback_target_check" CHECK (num_nonnulls("feedback"."message_id", "feedback"."content_version_id", "feedback"."agent_run_id") = 1),
	CONSTRAINT "feedback_rating_check" CHECK ("feedback"."rating" between 1 and 5),
	CONSTRAINT "feedback_content_check" CHECK ("feedback"."rating" is not null or length(btrim("feedback"."comment")) > 0)
);
--> statement-breakpoint
ALTER TABLE "feedback" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"status" "task_status" DEFAULT 'todo' NOT NULL,
	"priority" "task_priority" DEFAULT 'medium' NOT NULL,
	"assignee_membership_id" uuid,
	"due_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"campaign_id" uuid,
	"content_item_id" uuid,
	"created_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tasks_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "tasks_title_check" CHECK (length(btrim("tasks"."title")) between 1 and 300),
	CONSTRAINT "tasks_done_check" CHECK (("tasks"."status" = 'done') = ("tasks"."completed_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "tasks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
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
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_subscription_id_fkey" FOREIGN KEY ("organization_id","subscription_id") REFERENCES "public"."subscriptions"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brands" ADD CONSTRAINT "brands_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_test_variants" ADD CONSTRAINT "ab_test_variants_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_test_variants" ADD CONSTRAINT "ab_test_variants_ab_test_id_fkey" FOREIGN KEY ("organization_id","ab_test_id") REFERENCES "public"."ab_tests"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_test_variants" ADD CONSTRAINT "ab_test_variants_content_version_id_fkey" FOREIGN KEY ("organization_id","content_version_id") REFERENCES "public"."content_versions"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_contents" ADD CONSTRAINT "campaign_contents_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_contents" ADD CONSTRAINT "campaign_contents_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_contents" ADD CONSTRAINT "campaign_contents_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_metrics" ADD CONSTRAINT "campaign_metrics_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_metrics" ADD CONSTRAINT "campaign_metrics_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaign_metrics" ADD CONSTRAINT "campaign_metrics_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_items" ADD CONSTRAINT "content_items_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_items" ADD CONSTRAINT "content_items_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_items" ADD CONSTRAINT "content_items_current_version_fkey" FOREIGN KEY ("organization_id","id","current_version_id") REFERENCES "public"."content_versions"("organization_id","content_item_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_versions" ADD CONSTRAINT "content_versions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_versions" ADD CONSTRAINT "content_versions_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_versions" ADD CONSTRAINT "content_versions_brand_voice_id_fkey" FOREIGN KEY ("organization_id","brand_voice_id") REFERENCES "public"."brand_voices"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "content_versions" ADD CONSTRAINT "content_versions_agent_run_id_fkey" FOREIGN KEY ("organization_id","agent_run_id") REFERENCES "public"."agent_runs"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_sequence_id_fkey" FOREIGN KEY ("organization_id","sequence_id") REFERENCES "public"."email_sequences"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequences" ADD CONSTRAINT "email_sequences_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequences" ADD CONSTRAINT "email_sequences_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_created_by_user_id_fkey" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("organization_id","conversation_id") REFERENCES "public"."conversations"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_message_id_fkey" FOREIGN KEY ("organization_id","parent_message_id") REFERENCES "public"."messages"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "authenticators" ADD CONSTRAINT "authenticators_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_invited_by_user_id_users_id_fk" FOREIGN KEY ("invited_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_role_id_fkey" FOREIGN KEY ("organization_id","role_id") REFERENCES "public"."roles"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_permission_key_permissions_key_fk" FOREIGN KEY ("permission_key") REFERENCES "public"."permissions"("key") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_role_id_fkey" FOREIGN KEY ("organization_id","role_id") REFERENCES "public"."roles"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "roles" ADD CONSTRAINT "roles_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_document_fkey" FOREIGN KEY ("organization_id","dataset_id","document_id") REFERENCES "public"."documents"("organization_id","dataset_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_dataset_space_fkey" FOREIGN KEY ("organization_id","dataset_id","embedding_space_id") REFERENCES "public"."datasets"("organization_id","id","embedding_space_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_embedding_space_id_fkey" FOREIGN KEY ("embedding_space_id") REFERENCES "public"."embedding_spaces"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_dataset_id_fkey" FOREIGN KEY ("organization_id","dataset_id") REFERENCES "public"."datasets"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inference_endpoints" ADD CONSTRAINT "inference_endpoints_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inference_endpoints" ADD CONSTRAINT "inference_endpoints_model_version_id_fkey" FOREIGN KEY ("organization_id","model_version_id") REFERENCES "public"."model_versions"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_jobs" ADD CONSTRAINT "training_jobs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_jobs" ADD CONSTRAINT "training_jobs_dataset_id_fkey" FOREIGN KEY ("organization_id","dataset_id") REFERENCES "public"."datasets"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_content_version_id_fkey" FOREIGN KEY ("organization_id","content_version_id") REFERENCES "public"."content_versions"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_message_id_fkey" FOREIGN KEY ("organization_id","message_id") REFERENCES "public"."messages"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_agent_run_id_fkey" FOREIGN KEY ("organization_id","agent_run_id") REFERENCES "public"."agent_runs"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
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
CREATE INDEX "audit_logs_organization_id_seq_idx" ON "audit_logs" USING btree ("organization_id","seq");--> statement-breakpoint
CREATE INDEX "audit_logs_organization_id_target_idx" ON "audit_logs" USING btree ("organization_id","target_type","target_id");--> statement-breakpoint
CREATE INDEX "invoices_subscription_id_idx" ON "invoices" USING btree ("organization_id","subscription_id");--> statement-breakpoint
CREATE INDEX "invoices_organization_id_issued_at_idx" ON "invoices" USING btree ("organization_id","issued_at");--> statement-breakpoint
CREATE UNIQUE INDEX "subscriptions_organization_id_open_key" ON "subscriptions" USING btree ("organization_id") WHERE status <> 'canceled';--> statement-breakpoint
CREATE INDEX "usage_records_organization_id_recorded_at_idx" ON "usage_records" USING btree ("organization_id","recorded_at","meter");--> statement-breakpoint
CREATE INDEX "brand_voices_brand_id_idx" ON "brand_voices" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_name_version_key" ON "brand_voices" USING btree ("organization_id","brand_id","name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_default_key" ON "brand_voices" USING btree ("organization_id","brand_id") WHERE is_default;--> statement-breakpoint
CREATE INDEX "brand_voices_embedding_space_id_idx" ON "brand_voices" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE UNIQUE INDEX "brands_organization_id_slug_key" ON "brands" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "ab_test_variants_ab_test_id_idx" ON "ab_test_variants" USING btree ("organization_id","ab_test_id");--> statement-breakpoint
CREATE INDEX "ab_test_variants_content_version_id_idx" ON "ab_test_variants" USING btree ("organization_id","content_version_id");--> statement-breakpoint
CREATE INDEX "ab_tests_campaign_id_idx" ON "ab_tests" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "campaign_contents_campaign_id_idx" ON "campaign_contents" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "campaign_contents_content_item_id_idx" ON "campaign_contents" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "campaign_metrics_content_item_id_idx" ON "campaign_metrics" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "campaigns_brand_id_idx" ON "campaigns" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaigns_organization_id_slug_key" ON "campaigns" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "campaigns_organization_id_status_starts_at_idx" ON "campaigns" USING btree ("organization_id","status","starts_at") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "content_items_brand_id_idx" ON "content_items" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE INDEX "content_items_current_version_idx" ON "content_items" USING btree ("organization_id","id","current_version_id");--> statement-breakpoint
CREATE INDEX "content_items_organization_id_brand_id_status_idx" ON "content_items" USING btree ("organization_id","brand_id","status","updated_at") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "content_versions_content_item_id_idx" ON "content_versions" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "content_versions_brand_voice_id_idx" ON "content_versions" USING btree ("organization_id","brand_voice_id");--> statement-breakpoint
CREATE INDEX "content_versions_agent_run_id_idx" ON "content_versions" USING btree ("organization_id","agent_run_id");--> statement-breakpoint
CREATE INDEX "email_sequence_steps_sequence_id_idx" ON "email_sequence_steps" USING btree ("organization_id","sequence_id");--> statement-breakpoint
CREATE INDEX "email_sequence_steps_content_item_id_idx" ON "email_sequence_steps" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "email_sequences_campaign_id_idx" ON "email_sequences" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "social_posts_campaign_id_idx" ON "social_posts" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "social_posts_content_item_id_idx" ON "social_posts" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "social_posts_scheduled_at_idx" ON "social_posts" USING btree ("organization_id","scheduled_at") WHERE status = 'scheduled';--> statement-breakpoint
CREATE INDEX "conversations_created_by_user_id_last_message_at_idx" ON "conversations" USING btree ("created_by_user_id","organization_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "conversations_brand_id_idx" ON "conversations" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE INDEX "conversations_agent_id_idx" ON "conversations" USING btree ("organization_id","agent_id");--> statement-breakpoint
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages" USING btree ("organization_id","conversation_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_run_id_idx" ON "messages" USING btree ("organization_id","run_id");--> statement-breakpoint
CREATE INDEX "messages_parent_message_id_idx" ON "messages" USING btree ("organization_id","parent_message_id");--> statement-breakpoint
CREATE INDEX "messages_embedding_space_id_idx" ON "messages" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE INDEX "accounts_user_id_idx" ON "accounts" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "api_keys_key_hash_idx" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_created_by_user_id_idx" ON "api_keys" USING btree ("created_by_user_id");--> statement-breakpoint
CREATE INDEX "credentials_key_id_idx" ON "credentials" USING btree ("key_id");--> statement-breakpoint
CREATE INDEX "credentials_created_by_user_id_idx" ON "credentials" USING btree ("created_by_user_id");--> statement-breakpoint
CREATE INDEX "memberships_role_id_idx" ON "memberships" USING btree ("organization_id","role_id");--> statement-breakpoint
CREATE INDEX "memberships_user_id_idx" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "memberships_invited_by_user_id_idx" ON "memberships" USING btree ("invited_by_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_slug_key" ON "organizations" USING btree ("slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "role_permissions_role_id_idx" ON "role_permissions" USING btree ("organization_id","role_id");--> statement-breakpoint
CREATE INDEX "role_permissions_permission_key_idx" ON "role_permissions" USING btree ("permission_key");--> statement-breakpoint
CREATE INDEX "sessions_user_id_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "connectors_credential_id_idx" ON "connectors" USING btree ("organization_id","credential_id");--> statement-breakpoint
CREATE INDEX "connectors_last_synced_at_idx" ON "connectors" USING btree ("organization_id","last_synced_at") WHERE status = 'connected';--> statement-breakpoint
CREATE INDEX "chunks_dataset_id_document_id_idx" ON "chunks" USING btree ("organization_id","dataset_id","document_id");--> statement-breakpoint
CREATE INDEX "chunks_dataset_id_embedding_space_id_idx" ON "chunks" USING btree ("organization_id","dataset_id","embedding_space_id");--> statement-breakpoint
CREATE UNIQUE INDEX "chunks_organization_id_document_id_ordinal_key" ON "chunks" USING btree ("organization_id","document_id","ordinal");--> statement-breakpoint
CREATE INDEX "chunks_search_vector_idx" ON "chunks" USING gin ("search_vector");--> statement-breakpoint
CREATE INDEX "chunks_embedding_space_id_idx" ON "chunks" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE INDEX "datasets_embedding_space_id_idx" ON "datasets" USING btree ("embedding_space_id");--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_organization_id_slug_key" ON "datasets" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "documents_dataset_id_idx" ON "documents" USING btree ("organization_id","dataset_id");--> statement-breakpoint
CREATE INDEX "documents_title_trgm_idx" ON "documents" USING gin ("title" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "inference_endpoints_model_version_id_idx" ON "inference_endpoints" USING btree ("organization_id","model_version_id");--> statement-breakpoint
CREATE UNIQUE INDEX "inference_endpoints_organization_id_name_key" ON "inference_endpoints" USING btree ("organization_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_organization_id_name_version_key" ON "model_versions" USING btree ("organization_id","name","version");--> statement-breakpoint
CREATE INDEX "training_jobs_dataset_id_idx" ON "training_jobs" USING btree ("organization_id","dataset_id");--> statement-breakpoint
CREATE INDEX "training_jobs_output_model_version_id_idx" ON "training_jobs" USING btree ("organization_id","output_model_version_id");--> statement-breakpoint
CREATE INDEX "training_jobs_organization_id_status_queued_at_idx" ON "training_jobs" USING btree ("organization_id","status","queued_at");--> statement-breakpoint
CREATE INDEX "feedback_content_version_id_idx" ON "feedback" USING btree ("organization_id","content_version_id");--> statement-breakpoint
CREATE INDEX "feedback_message_id_idx" ON "feedback" USING btree ("organization_id","message_id");--> statement-breakpoint
CREATE INDEX "feedback_agent_run_id_idx" ON "feedback" USING btree ("organization_id","agent_run_id");--> statement-breakpoint
CREATE INDEX "feedback_user_id_idx" ON "feedback" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "tasks_campaign_id_idx" ON "tasks" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "tasks_content_item_id_idx" ON "tasks" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "tasks_assignee_membership_id_idx" ON "tasks" USING btree ("organization_id","assignee_membership_id","status","due_at");--> statement-breakpoint
CREATE INDEX "tasks_created_by_user_id_idx" ON "tasks" USING btree ("created_by_user_id");--> statement-breakpoint
CREATE POLICY "agent_capabilities_tenant_isolation" ON "agent_capabilities" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_configs_tenant_isolation" ON "agent_configs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_runs_tenant_isolation" ON "agent_runs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agent_tools_tenant_isolation" ON "agent_tools" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "agents_tenant_isolation" ON "agents" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tool_executions_tenant_isolation" ON "tool_executions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tools_tenant_isolation" ON "tools" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "audit_chain_heads_tenant_isolation" ON "audit_chain_heads" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "audit_logs_tenant_isolation" ON "audit_logs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "invoices_tenant_isolation" ON "invoices" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "subscriptions_tenant_isolation" ON "subscriptions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "usage_records_tenant_isolation" ON "usage_records" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "brand_voices_tenant_isolation" ON "brand_voices" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "brands_tenant_isolation" ON "brands" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "ab_test_variants_tenant_isolation" ON "ab_test_variants" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "ab_tests_tenant_isolation" ON "ab_tests" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "campaign_contents_tenant_isolation" ON "campaign_contents" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "campaign_metrics_tenant_isolation" ON "campaign_metrics" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "campaigns_tenant_isolation" ON "campaigns" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "content_items_tenant_isolation" ON "content_items" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "content_versions_tenant_isolation" ON "content_versions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "email_sequence_steps_tenant_isolation" ON "email_sequence_steps" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "email_sequences_tenant_isolation" ON "email_sequences" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "social_posts_tenant_isolation" ON "social_posts" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "conversations_tenant_isolation" ON "conversations" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "messages_tenant_isolation" ON "messages" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "api_keys_tenant_isolation" ON "api_keys" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "api_keys_lookup_by_hash" ON "api_keys" AS PERMISSIVE FOR SELECT TO public USING ("api_keys"."key_hash" = decode(nullif(current_setting('app.api_key_hash', true), ''), 'hex'));--> statement-breakpoint
CREATE POLICY "credentials_tenant_isolation" ON "credentials" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "memberships_tenant_isolation" ON "memberships" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "memberships_own_visibility" ON "memberships" AS PERMISSIVE FOR SELECT TO public USING (user_id = app_current_user_id());--> statement-breakpoint
CREATE POLICY "organizations_tenant_isolation" ON "organizations" AS PERMISSIVE FOR ALL TO public USING (id = app_current_org_id()) WITH CHECK (id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "organizations_enumeration" ON "organizations" AS PERMISSIVE FOR SELECT TO public USING (current_setting('app.enumerate_organizations', true) = 'on');--> statement-breakpoint
CREATE POLICY "organizations_member_visibility" ON "organizations" AS PERMISSIVE FOR SELECT TO public USING (exists (select 1 from memberships m where m.organization_id = organizations.id and m.user_id = app_current_user_id() and m.status = 'active'));--> statement-breakpoint
CREATE POLICY "role_permissions_tenant_isolation" ON "role_permissions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "roles_tenant_isolation" ON "roles" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "roles_holder_visibility" ON "roles" AS PERMISSIVE FOR SELECT TO public USING (exists (select 1 from memberships m where m.organization_id = roles.organization_id and m.role_id = roles.id and m.user_id = app_current_user_id()));--> statement-breakpoint
CREATE POLICY "users_member_visibility" ON "users" AS PERMISSIVE FOR SELECT TO public USING (id = app_current_user_id() or exists (select 1 from memberships m where m.user_id = users.id and m.organization_id = app_current_org_id()));--> statement-breakpoint
CREATE POLICY "connectors_tenant_isolation" ON "connectors" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "chunks_tenant_isolation" ON "chunks" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "datasets_tenant_isolation" ON "datasets" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "documents_tenant_isolation" ON "documents" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "inference_endpoints_tenant_isolation" ON "inference_endpoints" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "model_versions_tenant_isolation" ON "model_versions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "training_jobs_tenant_isolation" ON "training_jobs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "feedback_tenant_isolation" ON "feedback" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tasks_tenant_isolation" ON "tasks" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());