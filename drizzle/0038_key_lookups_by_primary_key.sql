-- Only the primary key of chunks, documents, chunk_embeddings, conversations, messages and
-- tool_executions leads with organization_id now; their other indexes lead with another column,
-- and none of documents leads with the dataset alone. For a tenant (or a dataset) the statistics
-- have not seen yet (new since the last ANALYZE of a table whose most common values held every
-- tenant then), the planner expects one row of it, and any index led by it looked as good as the
-- primary key to find a row by its id; a deduplicated (tenant, dataset) index is the smallest. So
-- a search's join of its 10 hits read all of a new tenant's chunks and documents (8,000 chunks:
-- 11.6 ms where the hits take 0.1), and each chunk written checked its document by reading all of
-- the dataset's (a document of 20 chunks beside 1,000 documents: 20,240 rows). The dataset
-- reference of documents is served by their (dataset, tenant, id) key now. The migrator runs each
-- migration in one transaction, where CONCURRENTLY cannot: writes to these tables wait while the
-- indexes are built again, so on large tables deploy it in a quiet hour.
ALTER TABLE "chunks" DROP CONSTRAINT "chunks_document_fkey";
--> statement-breakpoint
ALTER TABLE "tool_executions" DROP CONSTRAINT "tool_executions_organization_id_run_id_sequence_key";
--> statement-breakpoint
ALTER TABLE "documents" DROP CONSTRAINT "documents_organization_id_dataset_id_id_key";
--> statement-breakpoint
ALTER TABLE "documents" DROP CONSTRAINT "documents_organization_id_dataset_id_source_uri_key";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "documents_dataset_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "tool_executions_tool_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "conversations_brand_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "conversations_agent_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "messages_conversation_id_created_at_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "messages_run_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "messages_parent_message_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "chunks_dataset_id_document_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "chunks_dataset_id_embedding_space_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "chunks_organization_id_document_id_ordinal_key";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "chunk_embeddings_dataset_id_embedding_space_id_idx";
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "tool_executions_tool_id_idx" ON "tool_executions" USING btree ("tool_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "conversations_brand_id_idx" ON "conversations" USING btree ("brand_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "conversations_agent_id_idx" ON "conversations" USING btree ("agent_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages" USING btree ("conversation_id","organization_id","created_at","id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "messages_run_id_idx" ON "messages" USING btree ("run_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "messages_parent_message_id_idx" ON "messages" USING btree ("parent_message_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "chunks_dataset_id_document_id_idx" ON "chunks" USING btree ("dataset_id","document_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "chunks_dataset_id_embedding_space_id_idx" ON "chunks" USING btree ("dataset_id","embedding_space_id","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX "chunks_organization_id_document_id_ordinal_key" ON "chunks" USING btree ("document_id","ordinal","organization_id");
--> statement-breakpoint
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "chunk_embeddings_dataset_id_embedding_space_id_idx" ON "chunk_embeddings" USING btree ("dataset_id","embedding_space_id","organization_id");
--> statement-breakpoint
-- squawk-ignore disallowed-unique-constraint
ALTER TABLE "tool_executions" ADD CONSTRAINT "tool_executions_organization_id_run_id_sequence_key" UNIQUE("run_id","organization_id","sequence");
--> statement-breakpoint
-- squawk-ignore disallowed-unique-constraint
ALTER TABLE "documents" ADD CONSTRAINT "documents_organization_id_dataset_id_id_key" UNIQUE("dataset_id","organization_id","id");
--> statement-breakpoint
-- squawk-ignore disallowed-unique-constraint
ALTER TABLE "documents" ADD CONSTRAINT "documents_organization_id_dataset_id_source_uri_key" UNIQUE("source_uri","dataset_id","organization_id");
--> statement-breakpoint
-- The reference from chunks to documents, dropped above with the unique key it names, checked again.
-- squawk-ignore adding-foreign-key-constraint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_document_fkey" FOREIGN KEY ("organization_id","dataset_id","document_id") REFERENCES "public"."documents"("organization_id","dataset_id","id") ON DELETE cascade ON UPDATE no action;
