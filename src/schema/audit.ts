import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  inet,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, lengthCheck, tenantPolicy } from './columns.ts';
import { auditActorType } from './enums.ts';
import { bytea } from './identity.ts';

export type AuditChanges = {
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
};

/**
 * Append-only audit trail, partitioned by month on `created_at` (a custom migration converts the
 * table and creates partitions ahead plus a default one). UPDATE, DELETE and TRUNCATE are refused
 * for every role, on partitions too; retention drops whole partitions. No foreign key to
 * organizations: the trail outlives what it describes.
 *
 * Tamper evidence: each row carries a per-organization sequence number and
 * `hash = sha256(prev_hash || row)`, filled by the database; `app_verify_audit_chain(org)` checks it.
 */
export const auditLogs = pgTable(
  'audit_logs',
  {
    id: id(),
    organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
    /** Position in the organization's hash chain (set by the database). */
    seq: bigint('seq', { mode: 'number' }).notNull().default(0),
    actorType: auditActorType('actor_type').notNull(),
    /** The user, API key or agent that acted; null for the system. */
    actorId: uuid('actor_id'),
    /** Who acted, readable after the actor is gone (an email, a key prefix, an agent name). */
    actorLabel: text('actor_label'),
    /** `<resource>.<verb>`, e.g. `api_key.revoked`. */
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    requestId: text('request_id'),
    ip: inet('ip'),
    userAgent: text('user_agent'),
    changes: jsonb('changes').$type<AuditChanges>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    prevHash: bytea('prev_hash'),
    hash: bytea('hash'),
  },
  (t) => [
    // Bounded so a value always fits the indexes on it (a btree row holds about 2.7 kB).
    lengthCheck('audit_logs', t.targetType, 100),
    lengthCheck('audit_logs', t.targetId, 200),
    // The partition key has to be part of the primary key of a partitioned table.
    primaryKey({ name: 'audit_logs_pkey', columns: [t.organizationId, t.createdAt, t.id] }),
    // An organization's trail, newest first, is what an admin screen and the chain check read.
    index('audit_logs_organization_id_seq_idx').on(t.organizationId, t.seq),
    index('audit_logs_organization_id_target_idx').on(t.organizationId, t.targetType, t.targetId),
    check('audit_logs_action_format_check', sql`${t.action} ~ '^[a-z_]+\\.[a-z_]+$'`),
    check('audit_logs_actor_check', sql`(${t.actorType} = 'system') or (${t.actorId} is not null)`),
    tenantPolicy('audit_logs'),
  ],
).enableRLS();

export type AuditLog = typeof auditLogs.$inferSelect;
export type NewAuditLog = typeof auditLogs.$inferInsert;

/** The newest link of each organization's audit hash chain, so appending is O(1). */
export const auditChainHeads = pgTable(
  'audit_chain_heads',
  {
    organizationId: uuid('organization_id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
  },
  () => [tenantPolicy('audit_chain_heads')],
).enableRLS();
