CREATE TABLE "scope_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"key_id" text,
	"verifier" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scope_secrets_name_check" CHECK ("scope_secrets"."name" in ('ticket', 'service')),
	CONSTRAINT "scope_secrets_key_id_check" CHECK (("scope_secrets"."name" = 'ticket') = ("scope_secrets"."key_id" is null) and coalesce(octet_length("scope_secrets"."key_id"), 1) between 1 and 32),
	CONSTRAINT "scope_secrets_verifier_length_check" CHECK (octet_length("scope_secrets"."verifier") = 128)
);
--> statement-breakpoint
ALTER TABLE "scope_secrets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_scope_keys" (
	"organization_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"key_id" text NOT NULL,
	"verifier" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retires_at" timestamp with time zone,
	CONSTRAINT "tenant_scope_keys_pkey" PRIMARY KEY("organization_id","version"),
	CONSTRAINT "tenant_scope_keys_version_check" CHECK ("tenant_scope_keys"."version" > 0),
	CONSTRAINT "tenant_scope_keys_key_id_length_check" CHECK (octet_length("tenant_scope_keys"."key_id") between 1 and 32),
	CONSTRAINT "tenant_scope_keys_verifier_length_check" CHECK (octet_length("tenant_scope_keys"."verifier") = 128)
);
--> statement-breakpoint
ALTER TABLE "tenant_scope_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_scope_keys" ADD CONSTRAINT "tenant_scope_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "scope_secrets_definer_select" ON "scope_secrets" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "tenant_scope_keys_definer_select" ON "tenant_scope_keys" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "tenant_scope_keys_definer_insert" ON "tenant_scope_keys" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "tenant_scope_keys_definer_update" ON "tenant_scope_keys" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);