-- Checks the rows already there against the byte limits added NOT VALID by add_byte_limits
-- (SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile). A row over its limit fails this
-- migration, naming the constraint; find such rows with `octet_length(<column>) > <limit>`.
ALTER TABLE "ab_test_variants" VALIDATE CONSTRAINT "ab_test_variants_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "ab_tests" VALIDATE CONSTRAINT "ab_tests_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "accounts" VALIDATE CONSTRAINT "accounts_provider_bytes_check";
--> statement-breakpoint
ALTER TABLE "accounts" VALIDATE CONSTRAINT "accounts_provider_account_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "agent_capabilities" VALIDATE CONSTRAINT "agent_capabilities_capability_bytes_check";
--> statement-breakpoint
ALTER TABLE "agent_runs" VALIDATE CONSTRAINT "agent_runs_idempotency_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "agents" VALIDATE CONSTRAINT "agents_slug_bytes_check";
--> statement-breakpoint
ALTER TABLE "audit_logs" VALIDATE CONSTRAINT "audit_logs_target_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "audit_logs" VALIDATE CONSTRAINT "audit_logs_target_type_bytes_check";
--> statement-breakpoint
ALTER TABLE "authenticators" VALIDATE CONSTRAINT "authenticators_credential_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "brand_voices" VALIDATE CONSTRAINT "brand_voices_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "brands" VALIDATE CONSTRAINT "brands_slug_bytes_check";
--> statement-breakpoint
ALTER TABLE "campaign_metrics" VALIDATE CONSTRAINT "campaign_metrics_metric_bytes_check";
--> statement-breakpoint
ALTER TABLE "campaigns" VALIDATE CONSTRAINT "campaigns_slug_bytes_check";
--> statement-breakpoint
ALTER TABLE "connectors" VALIDATE CONSTRAINT "connectors_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "connectors" VALIDATE CONSTRAINT "connectors_provider_bytes_check";
--> statement-breakpoint
ALTER TABLE "credentials" VALIDATE CONSTRAINT "credentials_key_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "credentials" VALIDATE CONSTRAINT "credentials_label_bytes_check";
--> statement-breakpoint
ALTER TABLE "credentials" VALIDATE CONSTRAINT "credentials_provider_bytes_check";
--> statement-breakpoint
ALTER TABLE "datasets" VALIDATE CONSTRAINT "datasets_slug_bytes_check";
--> statement-breakpoint
ALTER TABLE "documents" VALIDATE CONSTRAINT "documents_source_uri_bytes_check";
--> statement-breakpoint
ALTER TABLE "email_sequences" VALIDATE CONSTRAINT "email_sequences_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "embedding_spaces" VALIDATE CONSTRAINT "embedding_spaces_model_bytes_check";
--> statement-breakpoint
ALTER TABLE "embedding_spaces" VALIDATE CONSTRAINT "embedding_spaces_provider_bytes_check";
--> statement-breakpoint
ALTER TABLE "inference_endpoints" VALIDATE CONSTRAINT "inference_endpoints_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "invitations" VALIDATE CONSTRAINT "invitations_email_bytes_check";
--> statement-breakpoint
ALTER TABLE "invoices" VALIDATE CONSTRAINT "invoices_number_bytes_check";
--> statement-breakpoint
ALTER TABLE "model_versions" VALIDATE CONSTRAINT "model_versions_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "organizations" VALIDATE CONSTRAINT "organizations_slug_bytes_check";
--> statement-breakpoint
ALTER TABLE "permissions" VALIDATE CONSTRAINT "permissions_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "role_permissions" VALIDATE CONSTRAINT "role_permissions_permission_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "scope_secrets" VALIDATE CONSTRAINT "scope_secrets_name_bytes_check";
--> statement-breakpoint
ALTER TABLE "roles" VALIDATE CONSTRAINT "roles_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "sessions" VALIDATE CONSTRAINT "sessions_session_token_bytes_check";
--> statement-breakpoint
ALTER TABLE "social_posts" VALIDATE CONSTRAINT "social_posts_external_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "subscriptions" VALIDATE CONSTRAINT "subscriptions_provider_bytes_check";
--> statement-breakpoint
ALTER TABLE "subscriptions" VALIDATE CONSTRAINT "subscriptions_provider_subscription_id_bytes_check";
--> statement-breakpoint
ALTER TABLE "tools" VALIDATE CONSTRAINT "tools_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "usage_records" VALIDATE CONSTRAINT "usage_records_idempotency_key_bytes_check";
--> statement-breakpoint
ALTER TABLE "usage_records" VALIDATE CONSTRAINT "usage_records_meter_bytes_check";
--> statement-breakpoint
ALTER TABLE "users" VALIDATE CONSTRAINT "users_email_bytes_check";
--> statement-breakpoint
ALTER TABLE "verification_tokens" VALIDATE CONSTRAINT "verification_tokens_identifier_bytes_check";
--> statement-breakpoint
ALTER TABLE "verification_tokens" VALIDATE CONSTRAINT "verification_tokens_token_bytes_check";
