-- Nothing reads it since scope_tickets (the same release): tenant keys are derived from the key ring.
-- squawk-ignore ban-drop-column
ALTER TABLE "organizations" DROP COLUMN "scope_key";