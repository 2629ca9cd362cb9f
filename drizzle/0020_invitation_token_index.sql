-- Acceptance reads (organization_id, token_hash) now, served by its unique key; invitations is small.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX "invitations_token_hash_idx";