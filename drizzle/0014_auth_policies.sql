ALTER TABLE "accounts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "authenticators" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "verification_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "accounts_auth_all" ON "accounts" AS PERMISSIVE FOR ALL TO "neonhub_auth" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "authenticators_auth_all" ON "authenticators" AS PERMISSIVE FOR ALL TO "neonhub_auth" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "sessions_auth_all" ON "sessions" AS PERMISSIVE FOR ALL TO "neonhub_auth" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "users_auth_all" ON "users" AS PERMISSIVE FOR ALL TO "neonhub_auth" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "verification_tokens_auth_all" ON "verification_tokens" AS PERMISSIVE FOR ALL TO "neonhub_auth" USING (true) WITH CHECK (true);--> statement-breakpoint
SELECT app_install_table_hooks();
