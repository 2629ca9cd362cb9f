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
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_brand_id_fkey" FOREIGN KEY ("organization_id","brand_id") REFERENCES "public"."brands"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_embedding_space_fkey" FOREIGN KEY ("embedding_space_id","embedding_dimensions") REFERENCES "public"."embedding_spaces"("id","dimensions") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brands" ADD CONSTRAINT "brands_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "brand_voices_brand_id_idx" ON "brand_voices" USING btree ("organization_id","brand_id");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_name_version_key" ON "brand_voices" USING btree ("organization_id","brand_id","name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "brand_voices_organization_id_brand_id_default_key" ON "brand_voices" USING btree ("organization_id","brand_id") WHERE is_default;--> statement-breakpoint
CREATE INDEX "brand_voices_embedding_space_id_idx" ON "brand_voices" USING btree ("embedding_space_id","embedding_dimensions");--> statement-breakpoint
CREATE UNIQUE INDEX "brands_organization_id_slug_key" ON "brands" USING btree ("organization_id","slug") WHERE deleted_at is null;--> statement-breakpoint
CREATE POLICY "brand_voices_tenant_isolation" ON "brand_voices" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "brands_tenant_isolation" ON "brands" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());