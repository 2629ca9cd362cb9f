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
CREATE POLICY "chunks_tenant_isolation" ON "chunks" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "datasets_tenant_isolation" ON "datasets" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "documents_tenant_isolation" ON "documents" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "inference_endpoints_tenant_isolation" ON "inference_endpoints" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "model_versions_tenant_isolation" ON "model_versions" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "training_jobs_tenant_isolation" ON "training_jobs" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());