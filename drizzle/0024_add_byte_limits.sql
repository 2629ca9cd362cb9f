-- Every text column a btree index holds gets a limit in bytes (src/schema/byte-limits.ts): a btree
-- entry holds at most 2,704 bytes, and a limit in characters lets 1,990 CJK characters (5,970
-- bytes) through to be refused by the index in the middle of a load. NOT VALID: new writes are
-- checked from here on without scanning existing rows under an exclusive lock; the next migration
-- (validate_byte_limits) checks them. Expression indexes hold lower(email): the email's own bytes
-- are bounded, and lowercasing at most triples them.
ALTER TABLE "ab_test_variants" ADD CONSTRAINT "ab_test_variants_key_bytes_check" CHECK (octet_length("key") <= 40) NOT VALID;
--> statement-breakpoint
ALTER TABLE "ab_tests" ADD CONSTRAINT "ab_tests_name_bytes_check" CHECK (octet_length("name") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_provider_bytes_check" CHECK (octet_length("provider") <= 200) NOT VALID;
--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_provider_account_id_bytes_check" CHECK (octet_length("provider_account_id") <= 1000) NOT VALID;
--> statement-breakpoint
ALTER TABLE "agent_capabilities" ADD CONSTRAINT "agent_capabilities_capability_bytes_check" CHECK (octet_length("capability") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_idempotency_key_bytes_check" CHECK (octet_length("idempotency_key") <= 1020) NOT VALID;
--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_slug_bytes_check" CHECK (octet_length("slug") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_target_id_bytes_check" CHECK (octet_length("target_id") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_target_type_bytes_check" CHECK (octet_length("target_type") <= 400) NOT VALID;
--> statement-breakpoint
ALTER TABLE "authenticators" ADD CONSTRAINT "authenticators_credential_id_bytes_check" CHECK (octet_length("credential_id") <= 2000) NOT VALID;
--> statement-breakpoint
ALTER TABLE "brand_voices" ADD CONSTRAINT "brand_voices_name_bytes_check" CHECK (octet_length("name") <= 400) NOT VALID;
--> statement-breakpoint
ALTER TABLE "brands" ADD CONSTRAINT "brands_slug_bytes_check" CHECK (octet_length("slug") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "campaign_metrics" ADD CONSTRAINT "campaign_metrics_metric_bytes_check" CHECK (octet_length("metric") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_slug_bytes_check" CHECK (octet_length("slug") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_name_bytes_check" CHECK (octet_length("name") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_provider_bytes_check" CHECK (octet_length("provider") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_key_id_bytes_check" CHECK (octet_length("key_id") <= 200) NOT VALID;
--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_label_bytes_check" CHECK (octet_length("label") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_provider_bytes_check" CHECK (octet_length("provider") <= 400) NOT VALID;
--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_slug_bytes_check" CHECK (octet_length("slug") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_source_uri_bytes_check" CHECK (octet_length("source_uri") <= 2600) NOT VALID;
--> statement-breakpoint
ALTER TABLE "email_sequences" ADD CONSTRAINT "email_sequences_name_bytes_check" CHECK (octet_length("name") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "embedding_spaces" ADD CONSTRAINT "embedding_spaces_model_bytes_check" CHECK (octet_length("model") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "embedding_spaces" ADD CONSTRAINT "embedding_spaces_provider_bytes_check" CHECK (octet_length("provider") <= 400) NOT VALID;
--> statement-breakpoint
ALTER TABLE "inference_endpoints" ADD CONSTRAINT "inference_endpoints_name_bytes_check" CHECK (octet_length("name") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_email_bytes_check" CHECK (octet_length("email") <= 320) NOT VALID;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_number_bytes_check" CHECK (octet_length("number") <= 256) NOT VALID;
--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_name_bytes_check" CHECK (octet_length("name") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_slug_bytes_check" CHECK (octet_length("slug") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_key_bytes_check" CHECK (octet_length("key") <= 100) NOT VALID;
--> statement-breakpoint
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_permission_key_bytes_check" CHECK (octet_length("permission_key") <= 100) NOT VALID;
--> statement-breakpoint
ALTER TABLE "scope_secrets" ADD CONSTRAINT "scope_secrets_name_bytes_check" CHECK (octet_length("name") <= 16) NOT VALID;
--> statement-breakpoint
ALTER TABLE "roles" ADD CONSTRAINT "roles_key_bytes_check" CHECK (octet_length("key") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_session_token_bytes_check" CHECK (octet_length("session_token") <= 1000) NOT VALID;
--> statement-breakpoint
ALTER TABLE "social_posts" ADD CONSTRAINT "social_posts_external_id_bytes_check" CHECK (octet_length("external_id") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_provider_bytes_check" CHECK (octet_length("provider") <= 200) NOT VALID;
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_provider_subscription_id_bytes_check" CHECK (octet_length("provider_subscription_id") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "tools" ADD CONSTRAINT "tools_key_bytes_check" CHECK (octet_length("key") <= 64) NOT VALID;
--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_idempotency_key_bytes_check" CHECK (octet_length("idempotency_key") <= 800) NOT VALID;
--> statement-breakpoint
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_meter_bytes_check" CHECK (octet_length("meter") <= 63) NOT VALID;
--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_email_bytes_check" CHECK (octet_length("email") <= 320) NOT VALID;
--> statement-breakpoint
ALTER TABLE "verification_tokens" ADD CONSTRAINT "verification_tokens_identifier_bytes_check" CHECK (octet_length("identifier") <= 1000) NOT VALID;
--> statement-breakpoint
ALTER TABLE "verification_tokens" ADD CONSTRAINT "verification_tokens_token_bytes_check" CHECK (octet_length("token") <= 1000) NOT VALID;
