import { z } from 'zod';
import { auditLogs } from '../schema/audit.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema } from './storable.ts';

export const auditChangesSchema = z
  .object({
    before: z.record(z.string(), z.unknown()).nullable().optional(),
    after: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .strict();

export const selectAuditLogSchema = createSelectSchema(auditLogs, { changes: auditChangesSchema });
/** What a caller records; sequence, hashes, id and time are the database's. */
export const recordAuditInputSchema = createInsertSchema(auditLogs, {
  action: (s) => s.regex(/^[a-z_]+\.[a-z_]+$/, '`<resource>.<verb>`, e.g. `api_key.revoked`'),
  changes: auditChangesSchema,
  targetType: (s) => s.min(1).max(100),
  targetId: (s) => s.min(1).max(200),
}).omit({ id: true, organizationId: true, seq: true, createdAt: true, prevHash: true, hash: true });
