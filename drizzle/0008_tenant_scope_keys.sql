CREATE TABLE "invitations" (
	"id" uuid DEFAULT uuidv7() NOT NULL,
	"organization_id" uuid DEFAULT app_current_org_id() NOT NULL,
	"email" text NOT NULL,
	"role_id" uuid NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"invited_by_user_id" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"accepted_by_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invitations_pkey" PRIMARY KEY("organization_id","id"),
	CONSTRAINT "invitations_organization_id_token_hash_key" UNIQUE("organization_id","token_hash"),
	CONSTRAINT "invitations_email_format_check" CHECK ("invitations"."email" ~ '^[^@\s]+@[^@\s]+$'),
	CONSTRAINT "invitations_token_hash_length_check" CHECK (octet_length("invitations"."token_hash") = 32)
);
--> statement-breakpoint
ALTER TABLE "invitations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "organizations" ALTER COLUMN "id" DROP DEFAULT;--> statement-breakpoint
-- Required from the start: 0007_scope_roles refuses a database that already holds organizations.
-- squawk-ignore adding-required-field
ALTER TABLE "organizations" ADD COLUMN "scope_key" "bytea" NOT NULL;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_invited_by_user_id_users_id_fk" FOREIGN KEY ("invited_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_accepted_by_user_id_users_id_fk" FOREIGN KEY ("accepted_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_role_id_fkey" FOREIGN KEY ("organization_id","role_id") REFERENCES "public"."roles"("organization_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invitations_role_id_idx" ON "invitations" USING btree ("organization_id","role_id");--> statement-breakpoint
CREATE INDEX "invitations_token_hash_idx" ON "invitations" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_organization_id_email_key" ON "invitations" USING btree ("organization_id",lower("email")) WHERE accepted_at is null;--> statement-breakpoint
CREATE INDEX "invitations_invited_by_user_id_idx" ON "invitations" USING btree ("invited_by_user_id");--> statement-breakpoint
CREATE INDEX "invitations_accepted_by_user_id_idx" ON "invitations" USING btree ("accepted_by_user_id");--> statement-breakpoint
DROP POLICY "api_keys_lookup_by_hash" ON "api_keys" CASCADE;--> statement-breakpoint
DROP POLICY "memberships_own_visibility" ON "memberships" CASCADE;--> statement-breakpoint
DROP POLICY "organizations_enumeration" ON "organizations" CASCADE;--> statement-breakpoint
DROP POLICY "organizations_member_visibility" ON "organizations" CASCADE;--> statement-breakpoint
DROP POLICY "roles_holder_visibility" ON "roles" CASCADE;--> statement-breakpoint
DROP POLICY "users_member_visibility" ON "users" CASCADE;--> statement-breakpoint
CREATE POLICY "api_keys_definer_select" ON "api_keys" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "api_keys_definer_update" ON "api_keys" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "memberships_definer_select" ON "memberships" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "memberships_definer_insert" ON "memberships" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "organizations_definer_select" ON "organizations" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "roles_definer_select" ON "roles" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "users_definer_select" ON "users" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "invitations_tenant_isolation" ON "invitations" AS PERMISSIVE FOR ALL TO public USING (organization_id = app_current_org_id()) WITH CHECK (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "invitations_definer_select" ON "invitations" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "invitations_definer_update" ON "invitations" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);