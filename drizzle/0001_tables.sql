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
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brands" ADD CONSTRAINT "brands_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
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
CREATE INDEX "audit_logs_organization_id_seq_idx" ON "audit_logs" USING btree ("organization_id","seq");--> statement-breakpoint
CREATE INDEX "audit_logs_organization_id_target_idx" ON "audit_logs" USING btree ("organization_id","target_type","target_id");--> statement-breakpoint
CREATE INDEX "brand_voices_brand_id_idx" ON "brand_voices" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_name_version_key" ON "brand_voices" USING btree ("organization_id","brand_id","name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_default_key" ON "brand_voices" USING btree ("organization_id","brand_id") WHERE is_default;--> statement-breakpoint
CREATE INDEX "brand_voices_embedding_space_id_idx" ON "brand_voices" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE UNIQUE INDEX "brands_organization_id_slug_key" ON "brands" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
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
CREATE POLICY "audit_chain_heads_tenant_isolation" ON "audit_chain_heads" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "audit_logs_tenant_isolation" ON "audit_logs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "brand_voices_tenant_isolation" ON "brand_voices" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "brands_tenant_isolation" ON "brands" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
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
CREATE POLICY "users_member_visibility" ON "users" AS PERMISSIVE FOR SELECT TO public USING (id = app_current_user_id() or exists (select 1 from memberships m where m.user_id = users.id and m.organization_id = app_current_org_id()));