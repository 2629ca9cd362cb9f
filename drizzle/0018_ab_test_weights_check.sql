ALTER TABLE "ab_test_variants" DROP CONSTRAINT "ab_test_variants_weight_check";--> statement-breakpoint
-- api_keys is small (one row per key); the migrator runs in one transaction, where CONCURRENTLY cannot.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "api_keys_key_hash_idx";--> statement-breakpoint
-- The split moved to ab_tests.variant_weights (copied by 0017); variant weights have no other reader.
-- squawk-ignore ban-drop-column
ALTER TABLE "ab_test_variants" DROP COLUMN "weight";--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_variant_weights_check" CHECK (app_ab_test_weights_valid("ab_tests"."variant_weights"));--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_weights_check" CHECK ("ab_tests"."status" <> 'running' or app_ab_test_weights_ready("ab_tests"."variant_weights"));