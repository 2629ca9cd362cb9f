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
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_sequence_id_fkey" FOREIGN KEY ("organization_id","sequence_id") REFERENCES "public"."email_sequences"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequence_steps" ADD CONSTRAINT "email_sequence_steps_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequences" ADD CONSTRAINT "email_sequences_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_sequences" ADD CONSTRAINT "email_sequences_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_subscription_id_fkey" FOREIGN KEY ("organization_id","subscription_id") REFERENCES "public"."subscriptions"("organization_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_content_version_id_fkey" FOREIGN KEY ("organization_id","content_version_id") REFERENCES "public"."content_versions"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_campaign_id_fkey" FOREIGN KEY ("organization_id","campaign_id") REFERENCES "public"."campaigns"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_content_item_id_fkey" FOREIGN KEY ("organization_id","content_item_id") REFERENCES "public"."content_items"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
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
CREATE INDEX "invoices_subscription_id_idx" ON "invoices" USING btree ("organization_id","subscription_id");--> statement-breakpoint
CREATE INDEX "invoices_organization_id_issued_at_idx" ON "invoices" USING btree ("organization_id","issued_at");--> statement-breakpoint
CREATE UNIQUE INDEX "subscriptions_organization_id_open_key" ON "subscriptions" USING btree ("organization_id") WHERE status <> 'canceled';--> statement-breakpoint
CREATE INDEX "usage_records_organization_id_recorded_at_idx" ON "usage_records" USING btree ("organization_id","recorded_at","meter");--> statement-breakpoint
CREATE INDEX "connectors_credential_id_idx" ON "connectors" USING btree ("organization_id","credential_id");--> statement-breakpoint
CREATE INDEX "connectors_last_synced_at_idx" ON "connectors" USING btree ("organization_id","last_synced_at") WHERE status = 'connected';--> statement-breakpoint
CREATE INDEX "feedback_content_version_id_idx" ON "feedback" USING btree ("organization_id","content_version_id");--> statement-breakpoint
CREATE INDEX "feedback_message_id_idx" ON "feedback" USING btree ("organization_id","message_id");--> statement-breakpoint
CREATE INDEX "feedback_agent_run_id_idx" ON "feedback" USING btree ("organization_id","agent_run_id");--> statement-breakpoint
CREATE INDEX "feedback_user_id_idx" ON "feedback" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "tasks_campaign_id_idx" ON "tasks" USING btree ("organization_id","campaign_id");--> statement-breakpoint
CREATE INDEX "tasks_content_item_id_idx" ON "tasks" USING btree ("organization_id","content_item_id");--> statement-breakpoint
CREATE INDEX "tasks_assignee_membership_id_idx" ON "tasks" USING btree ("organization_id","assignee_membership_id","status","due_at");--> statement-breakpoint
CREATE INDEX "tasks_created_by_user_id_idx" ON "tasks" USING btree ("created_by_user_id");--> statement-breakpoint
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
CREATE POLICY "invoices_tenant_isolation" ON "invoices" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "subscriptions_tenant_isolation" ON "subscriptions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "usage_records_tenant_isolation" ON "usage_records" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "connectors_tenant_isolation" ON "connectors" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "feedback_tenant_isolation" ON "feedback" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "tasks_tenant_isolation" ON "tasks" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());