-- Every reference index of a tenant table leads with its column now, not the tenant, as 0035 and
-- 0038 did for the tables that grow fastest. For a tenant the statistics have not seen, the
-- planner expects one row of it, and took the smallest index led by the tenant (a deduplicated
-- reference index) to find a row by its id, reading all of the tenant's rows. Led by the tenant
-- still: primary keys, unique keys, and the indexes that list a tenant's rows in an order of their
-- own (the audit trail by seq, invoices, usage records, training jobs by status). The migrator runs
-- each migration in one transaction, where CONCURRENTLY cannot: writes to these tables wait while
-- their indexes are built again.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "agent_tools_tool_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "agents_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "agents_current_config_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "invoices_subscription_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "brand_voices_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "ab_test_variants_ab_test_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "ab_test_variants_content_version_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "ab_tests_campaign_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "campaign_contents_campaign_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "campaign_contents_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "campaign_metrics_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "campaigns_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "email_sequence_steps_sequence_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "email_sequence_steps_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "email_sequences_campaign_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "social_posts_campaign_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "social_posts_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "content_items_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "content_versions_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "content_versions_brand_voice_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "content_versions_agent_run_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "invitations_role_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "memberships_role_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "role_permissions_role_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "connectors_credential_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "inference_endpoints_model_version_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "training_jobs_dataset_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "training_jobs_output_model_version_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "reembeddings_dataset_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "reembeddings_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "feedback_content_version_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "feedback_message_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "feedback_agent_run_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "tasks_campaign_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "tasks_content_item_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "tasks_assignee_membership_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agent_tools_tool_id_idx" ON "agent_tools" USING btree ("tool_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agents_brand_id_idx" ON "agents" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "agents_current_config_id_idx" ON "agents" USING btree ("current_config_id","organization_id","id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "invoices_subscription_id_idx" ON "invoices" USING btree ("subscription_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "brand_voices_brand_id_idx" ON "brand_voices" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "ab_test_variants_ab_test_id_idx" ON "ab_test_variants" USING btree ("ab_test_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "ab_test_variants_content_version_id_idx" ON "ab_test_variants" USING btree ("content_version_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "ab_tests_campaign_id_idx" ON "ab_tests" USING btree ("campaign_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "campaign_contents_campaign_id_idx" ON "campaign_contents" USING btree ("campaign_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "campaign_contents_content_item_id_idx" ON "campaign_contents" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "campaign_metrics_content_item_id_idx" ON "campaign_metrics" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "campaigns_brand_id_idx" ON "campaigns" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "email_sequence_steps_sequence_id_idx" ON "email_sequence_steps" USING btree ("sequence_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "email_sequence_steps_content_item_id_idx" ON "email_sequence_steps" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "email_sequences_campaign_id_idx" ON "email_sequences" USING btree ("campaign_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "social_posts_campaign_id_idx" ON "social_posts" USING btree ("campaign_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "social_posts_content_item_id_idx" ON "social_posts" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "content_items_brand_id_idx" ON "content_items" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "content_versions_content_item_id_idx" ON "content_versions" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "content_versions_brand_voice_id_idx" ON "content_versions" USING btree ("brand_voice_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "content_versions_agent_run_id_idx" ON "content_versions" USING btree ("agent_run_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "invitations_role_id_idx" ON "invitations" USING btree ("role_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "memberships_role_id_idx" ON "memberships" USING btree ("role_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "role_permissions_role_id_idx" ON "role_permissions" USING btree ("role_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "connectors_credential_id_idx" ON "connectors" USING btree ("credential_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "inference_endpoints_model_version_id_idx" ON "inference_endpoints" USING btree ("model_version_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "training_jobs_dataset_id_idx" ON "training_jobs" USING btree ("dataset_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "training_jobs_output_model_version_id_idx" ON "training_jobs" USING btree ("output_model_version_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "reembeddings_dataset_id_idx" ON "reembeddings" USING btree ("dataset_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "reembeddings_brand_id_idx" ON "reembeddings" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "feedback_content_version_id_idx" ON "feedback" USING btree ("content_version_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "feedback_message_id_idx" ON "feedback" USING btree ("message_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "feedback_agent_run_id_idx" ON "feedback" USING btree ("agent_run_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "tasks_campaign_id_idx" ON "tasks" USING btree ("campaign_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "tasks_content_item_id_idx" ON "tasks" USING btree ("content_item_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "tasks_assignee_membership_id_idx" ON "tasks" USING btree ("assignee_membership_id","organization_id","status","due_at");
