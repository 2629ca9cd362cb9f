ALTER TABLE "ab_test_variants" DROP CONSTRAINT "ab_test_variants_weight_check";--> statement-breakpoint
-- Lookups now read (organization_id, key_hash) and (organization_id, token_hash), served by their unique
-- keys; both tables are small and the migrator runs in one transaction, where CONCURRENTLY cannot.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "api_keys_key_hash_idx";--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "invitations_token_hash_idx";--> statement-breakpoint
-- The split moved to ab_tests.variant_weights (copied by 0016); variant weights have no other reader.
-- squawk-ignore ban-drop-column
ALTER TABLE "ab_test_variants" DROP COLUMN "weight";--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_variant_weights_check" CHECK (app_ab_test_weights_valid("ab_tests"."variant_weights"));--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_weights_check" CHECK ("ab_tests"."status" <> 'running' or app_ab_test_weights_ready("ab_tests"."variant_weights"));--> statement-breakpoint
CREATE POLICY "organizations_definer_insert" ON "organizations" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "role_permissions_definer_insert" ON "role_permissions" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);--> statement-breakpoint
CREATE POLICY "role_permissions_definer_select" ON "role_permissions" AS PERMISSIVE FOR SELECT TO "neonhub_definer" USING (true);--> statement-breakpoint
CREATE POLICY "roles_definer_insert" ON "roles" AS PERMISSIVE FOR INSERT TO "neonhub_definer" WITH CHECK (true);