import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  inet,
  jsonb,
  pgPolicy,
  pgRole,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { currentOrganization, id, lengthCheck } from './columns.ts';
import { auditActorType } from './enums.ts';
import { bytea } from './identity.ts';

export type AuditChanges = {
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
};

/**
 * The NOLOGIN role that owns the SECURITY DEFINER paths (audit appends, chain heads, retention
 * anchors); the audit guards migration creates it. Only it holds write policies on the audit tables.
 */
export const neonhubDefiner = pgRole('neonhub_definer').existing();

/** Tenant reads only: writes go through the definer path, never a policy the app role can use. */
const tenantRead = (table: string) =>
  pgPolicy(`${table}_tenant_isolation`, {
    as: 'permissive',
    for: 'select',
    to: 'public',
    using: currentOrganization,
  });

/**
 * Append-only audit trail, partitioned by month on `created_at` (a custom migration converts the
 * table and creates partitions ahead plus a default one). UPDATE, DELETE and TRUNCATE are refused
 * for every role, on partitions too; retention drops whole partitions and leaves a sealed anchor.
 * No foreign key to organizations: the trail outlives what it describes.
 *
 * Tamper evidence: each row carries a per-organization sequence number and
 * `hash = HMAC(key, prev_hash || row)` under a key-ring key the database never sees, so rewriting a
 * row needs the key (`src/audit/audit.ts` seals and verifies; the database only links and stamps).
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
    /** The database's clock, set by the append path (`app_audit_append`), never the caller's. */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    prevHash: bytea('prev_hash'),
    hash: bytea('hash'),
    /** Key-ring id of the key that sealed `hash` (null: a row from before sealing, which proves nothing). */
    keyId: text('key_id'),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('audit_logs', t.targetType, 100),
    lengthCheck('audit_logs', t.targetId, 200),
    // The partition key has to be part of the primary key of a partitioned table.
    primaryKey({ name: 'audit_logs_pkey', columns: [t.organizationId, t.createdAt, t.id] }),
    // An organization's trail, newest first, is what an admin screen and the chain check read.
    index('audit_logs_organization_id_seq_idx').on(t.organizationId, t.seq),
    index('audit_logs_organization_id_target_idx').on(t.organizationId, t.targetType, t.targetId),
    check('audit_logs_action_format_check', sql`${t.action} ~ '^[a-z_]+\\.[a-z_]+$'`),
    check('audit_logs_actor_check', sql`(${t.actorType} = 'system') or (${t.actorId} is not null)`),
    tenantRead('audit_logs'),
    // The append and retention paths (SECURITY DEFINER, owned by neonhub_definer) read and insert.
    pgPolicy('audit_logs_definer_read', {
      as: 'permissive',
      for: 'select',
      to: neonhubDefiner,
      using: sql`true`,
    }),
    pgPolicy('audit_logs_definer_append', {
      as: 'permissive',
      for: 'insert',
      to: neonhubDefiner,
      withCheck: sql`true`,
    }),
  ],
).enableRLS();

export type AuditLog = typeof auditLogs.$inferSelect;
export type NewAuditLog = typeof auditLogs.$inferInsert;

/**
 * The newest link of each organization's audit chain, so appending is O(1) and the verifier knows
 * where the trail must end; plus the retention anchor, where it may begin. Written only by the
 * definer path; tenants may read their own.
 */
export const auditChainHeads = pgTable(
  'audit_chain_heads',
  {
    organizationId: uuid('organization_id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
    /** Last sequence number retention dropped (0: the trail starts at 1). */
    anchorSeq: bigint('anchor_seq', { mode: 'number' }).notNull().default(0),
    /** Hash of that last dropped row: the `prev_hash` the first kept row must carry. */
    anchorHash: bytea('anchor_hash'),
    /** Key-ring id and HMAC sealing (organization, anchor_seq, anchor_hash), made by retention. */
    anchorKeyId: text('anchor_key_id'),
    anchorSeal: bytea('anchor_seal'),
  },
  () => [
    tenantRead('audit_chain_heads'),
    pgPolicy('audit_chain_heads_definer_write', {
      as: 'permissive',
      for: 'all',
      to: neonhubDefiner,
      using: sql`true`,
      withCheck: sql`true`,
    }),
  ],
).enableRLS();

export type AuditChainHead = typeof auditChainHeads.$inferSelect;
