ALTER TABLE "audit_chain_heads" ADD COLUMN "anchor_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ADD COLUMN "anchor_hash" "bytea";--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ADD COLUMN "anchor_key_id" text;--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ADD COLUMN "anchor_seal" "bytea";--> statement-breakpoint
ALTER TABLE "audit_logs" ADD COLUMN "key_id" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_name_length_check" CHECK (char_length("api_keys"."name") between 1 and 100);--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_provider_length_check" CHECK (char_length("credentials"."provider") between 1 and 100);--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_label_length_check" CHECK (char_length("credentials"."label") between 1 and 200);--> statement-breakpoint
DROP POLICY "audit_chain_heads_tenant_isolation" ON "audit_chain_heads" CASCADE;--> statement-breakpoint
DROP POLICY "audit_logs_tenant_isolation" ON "audit_logs" CASCADE;--> statement-breakpoint
CREATE POLICY "audit_chain_heads_definer_write" ON "audit_chain_heads" AS PERMISSIVE FOR ALL TO "neonhub_definer" USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "audit_logs_definer_read" ON "audit_logs" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "audit_logs_definer_append" ON "audit_logs" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "audit_chain_heads_tenant_isolation" ON "audit_chain_heads" AS PERMISSIVE FOR SELECT TO public USING (organization_id = app_current_org_id());--> statement-breakpoint
CREATE POLICY "audit_logs_tenant_isolation" ON "audit_logs" AS PERMISSIVE FOR SELECT TO public USING (organization_id = app_current_org_id());