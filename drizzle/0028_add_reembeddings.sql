CREATE TYPE "public"."reembedding_state" AS ENUM('embedding', 'switched', 'rolled_back', 'dropped');--> statement-breakpoint
CREATE TYPE "public"."reembedding_target" AS ENUM('dataset', 'brand_voices', 'messages');--> statement-breakpoint
CREATE TABLE "dataset_spaces" (
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"embedding_space_id" uuid NOT NULL,
	CONSTRAINT "dataset_spaces_pkey" PRIMARY KEY("organization_id","dataset_id","embedding_space_id")
);
--> statement-breakpoint
ALTER TABLE "dataset_spaces" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "chunk_embeddings" (
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"content_hash" text NOT NULL,
	"embedding_space_id" uuid NOT NULL,
	"embedding_dimensions" integer NOT NULL,
	"embedding" halfvec NOT NULL,
	CONSTRAINT "chunk_embeddings_pkey" PRIMARY KEY("organization_id","id","embedding_space_id"),
	CONSTRAINT "chunk_embeddings_content_hash_check" CHECK (content_hash ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "chunk_embeddings_embedding_dimensions_check" CHECK (("chunk_embeddings"."embedding" is null and "chunk_embeddings"."embedding_space_id" is null and "chunk_embeddings"."embedding_dimensions" is null) or ("chunk_embeddings"."embedding" is not null and "chunk_embeddings"."embedding_space_id" is not null and vector_dims("chunk_embeddings"."embedding") = "chunk_embeddings"."embedding_dimensions"))
);
--> statement-breakpoint
ALTER TABLE "chunk_embeddings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "reembedding_vectors" (
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"reembedding_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"content_hash" text NOT NULL,
	"space_id" uuid NOT NULL,
	"dimensions" integer NOT NULL,
	"vector" halfvec NOT NULL,
	CONSTRAINT "reembedding_vectors_pkey" PRIMARY KEY("organization_id","reembedding_id","id"),
	CONSTRAINT "reembedding_vectors_content_hash_check" CHECK (content_hash ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "reembedding_vectors_dimensions_check" CHECK (vector_dims("reembedding_vectors"."vector") = "reembedding_vectors"."dimensions")
);
--> statement-breakpoint
ALTER TABLE "reembedding_vectors" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "reembeddings" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"target" "reembedding_target" NOT NULL,
	"dataset_id" uuid,
	"brand_id" uuid,
	"from_space_id" uuid NOT NULL,
	"to_space_id" uuid NOT NULL,
	"state" "reembedding_state" DEFAULT 'embedding' NOT NULL,
	"cursor" uuid,
	"embedded_rows" integer DEFAULT 0 NOT NULL,
	"embedded_tokens" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"switched_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reembeddings_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "reembeddings_target_check" CHECK (("reembeddings"."target" = 'dataset') = ("reembeddings"."dataset_id" is not null)
        and ("reembeddings"."target" = 'brand_voices') = ("reembeddings"."brand_id" is not null)),
	CONSTRAINT "reembeddings_spaces_check" CHECK ("reembeddings"."from_space_id" <> "reembeddings"."to_space_id"),
	CONSTRAINT "reembeddings_embedded_check" CHECK ("reembeddings"."embedded_rows" >= 0 and "reembeddings"."embedded_tokens" >= 0)
);
--> statement-breakpoint
ALTER TABLE "reembeddings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "chunks" DROP CONSTRAINT "chunks_dataset_space_fkey";--> statement-breakpoint
ALTER TABLE "datasets" DROP CONSTRAINT "datasets_organization_id_id_embedding_space_id_key";
--> statement-breakpoint
-- Every dataset's own space, before chunks reference dataset_spaces; read past the datasets policy
-- (forced, and no tenant is in scope here), which the next statement puts back.
ALTER TABLE "datasets" NO FORCE ROW LEVEL SECURITY;--> statement-breakpoint
INSERT INTO "dataset_spaces" ("organization_id", "dataset_id", "embedding_space_id")
  SELECT "organization_id", "id", "embedding_space_id" FROM "datasets";--> statement-breakpoint
ALTER TABLE "datasets" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "dataset_spaces" ADD CONSTRAINT "dataset_spaces_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_spaces" ADD CONSTRAINT "dataset_spaces_dataset_id_fkey" FOREIGN KEY ("organization_id","dataset_id") REFERENCES "public"."datasets"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_spaces" ADD CONSTRAINT "dataset_spaces_embedding_space_id_fkey" FOREIGN KEY ("embedding_space_id") REFERENCES "public"."embedding_spaces"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunk_embeddings" ADD CONSTRAINT "chunk_embeddings_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunk_embeddings" ADD CONSTRAINT "chunk_embeddings_chunk_fkey" FOREIGN KEY ("organization_id","id") REFERENCES "public"."chunks"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunk_embeddings" ADD CONSTRAINT "chunk_embeddings_dataset_space_fkey" FOREIGN KEY ("organization_id","dataset_id","embedding_space_id") REFERENCES "public"."dataset_spaces"("organization_id","dataset_id","embedding_space_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chunk_embeddings" ADD CONSTRAINT "chunk_embeddings_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembedding_vectors" ADD CONSTRAINT "reembedding_vectors_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembedding_vectors" ADD CONSTRAINT "reembedding_vectors_reembedding_id_fkey" FOREIGN KEY ("organization_id","reembedding_id") REFERENCES "public"."reembeddings"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembedding_vectors" ADD CONSTRAINT "reembedding_vectors_space_fkey" FOREIGN KEY ("space_id","dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembeddings" ADD CONSTRAINT "reembeddings_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembeddings" ADD CONSTRAINT "reembeddings_dataset_id_fkey" FOREIGN KEY ("organization_id","dataset_id") REFERENCES "public"."datasets"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembeddings" ADD CONSTRAINT "reembeddings_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembeddings" ADD CONSTRAINT "reembeddings_from_space_id_fkey" FOREIGN KEY ("from_space_id") REFERENCES "public"."embedding_spaces"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reembeddings" ADD CONSTRAINT "reembeddings_to_space_id_fkey" FOREIGN KEY ("to_space_id") REFERENCES "public"."embedding_spaces"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dataset_spaces_embedding_space_id_idx" ON "dataset_spaces" USING btree ("embedding_space_id");--> statement-breakpoint
CREATE INDEX "chunk_embeddings_dataset_id_embedding_space_id_idx" ON "chunk_embeddings" USING btree ("organization_id","dataset_id","embedding_space_id");--> statement-breakpoint
CREATE INDEX "chunk_embeddings_embedding_space_id_idx" ON "chunk_embeddings" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE INDEX "reembedding_vectors_space_id_idx" ON "reembedding_vectors" USING btree ("space_id","dimensions");--> statement-breakpoint
CREATE INDEX "reembeddings_dataset_id_idx" ON "reembeddings" USING btree ("organization_id","dataset_id");--> statement-breakpoint
CREATE INDEX "reembeddings_brand_id_idx" ON "reembeddings" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE INDEX "reembeddings_from_space_id_idx" ON "reembeddings" USING btree ("from_space_id");--> statement-breakpoint
CREATE INDEX "reembeddings_to_space_id_idx" ON "reembeddings" USING btree ("to_space_id");--> statement-breakpoint
CREATE UNIQUE INDEX "reembeddings_organization_id_target_key" ON "reembeddings" USING btree ("organization_id","target",coalesce("dataset_id", "brand_id", "organization_id")) WHERE "reembeddings"."state" in ('embedding', 'switched');--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_dataset_space_fkey" FOREIGN KEY ("organization_id","dataset_id","embedding_space_id") REFERENCES "public"."dataset_spaces"("organization_id","dataset_id","embedding_space_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "dataset_spaces_tenant_isolation" ON "dataset_spaces" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "chunk_embeddings_tenant_isolation" ON "chunk_embeddings" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "reembedding_vectors_tenant_isolation" ON "reembedding_vectors" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "reembeddings_tenant_isolation" ON "reembeddings" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());