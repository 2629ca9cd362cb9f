ALTER TABLE "organizations" ALTER COLUMN "id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scope_key" "bytea" NOT NULL;--> statement-breakpoint
DROP POLICY "api_keys_lookup_by_hash" ON "api_keys" CASCADE;--> statement-breakpoint
DROP POLICY "memberships_own_visibility" ON "memberships" CASCADE;--> statement-breakpoint
DROP POLICY "organizations_enumeration" ON "organizations" CASCADE;--> statement-breakpoint
DROP POLICY "organizations_member_visibility" ON "organizations" CASCADE;--> statement-breakpoint
DROP POLICY "roles_holder_visibility" ON "roles" CASCADE;--> statement-breakpoint
DROP POLICY "users_member_visibility" ON "users" CASCADE;--> statement-breakpoint
CREATE POLICY "api_keys_definer_select" ON "api_keys" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "api_keys_definer_update" ON "api_keys" AS PERMISSIVE FOR UPDATE TO "neonhub_definer" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "memberships_definer_select" ON "memberships" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "organizations_definer_select" ON "organizations" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "roles_definer_select" ON "roles" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "users_definer_select" ON "users" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);