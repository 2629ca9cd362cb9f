CREATE POLICY "organizations_definer_insert" ON "organizations" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "role_permissions_definer_insert" ON "role_permissions" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "role_permissions_definer_select" ON "role_permissions" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "roles_definer_insert" ON "roles" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);