-- A re-embedding takes a dataset's chunks a batch at a time in id order from its cursor. With no
-- index holding a dataset's chunks in id order, each batch read every chunk of the dataset after
-- the cursor and sorted them (a dataset of n chunks: n²/2 rows over the move, in batches of 1,000).
-- Led by the dataset, as every index of chunks but the primary key is since 0038. The migrator
-- runs each migration in one transaction, where CONCURRENTLY cannot: writes to chunks wait while
-- the index is built, so on a large table deploy it in a quiet hour.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX "chunks_dataset_id_id_idx" ON "chunks" USING btree ("dataset_id","organization_id","id");
