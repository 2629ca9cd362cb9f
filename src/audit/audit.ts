import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant, withTenant } from '../client/tenant.ts';
import { rowFromDefiner } from '../identity/definer-rows.ts';
import { listOrganizationIdsForAdminJob } from '../identity/organizations.ts';
import { type AuditLog, auditLogs, type NewAuditLog } from '../schema/index.ts';
import { checkSeal, sealWithRing } from '../security/crypto.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { recordAuditInputSchema } from '../validators/audit.ts';
import { type AuditSealedColumns, auditMessage, sealedColumnsOf, utf8Hex } from './audit-seal.ts';
import { auditStructureProblems } from './audit-structure.ts';

export { auditStructureProblems } from './audit-structure.ts';

export type AuditEntry = Omit<
  NewAuditLog,
  'id' | 'organizationId' | 'seq' | 'createdAt' | 'prevHash' | 'hash' | 'keyId'
>;

/** A `bytea` value as a Buffer (empty for null). */
export const bytes = (value: unknown): Buffer =>
  value == null ? Buffer.alloc(0) : Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);

/**
 * Appends to the current tenant's audit trail (call inside `withTenant`). The database hands out
 * the next link under the tenant's head lock and stamps the time; the row is sealed here with
 * `HMAC(key, prev_hash || row)` under the ring's active key, which the database never sees. The
 * sealed bytes are built here from the values as the database will store them (it prints them back
 * in the same statement), so no function the owner can replace decides what a seal covers.
 */
export async function recordAudit(tx: Transaction, ring: KeyRing, entry: AuditEntry): Promise<AuditLog> {
  const organizationId = currentTenant(tx);
  // The validator requires `changes` although the column defaults to `{}`: supply the default first.
  const input = parseInput(recordAuditInputSchema, { changes: {}, ...entry }, 'audit_logs');
  const fields = {
    actorType: input.actorType,
    actorId: input.actorId ?? null,
    actorLabel: input.actorLabel ?? null,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    requestId: input.requestId ?? null,
    ip: input.ip ?? null,
    userAgent: input.userAgent ?? null,
    changes: jsonParam(input.changes ?? {}),
  };
  const values = sql`${fields.actorType}::public.audit_actor_type, ${fields.actorId}::pg_catalog.uuid,
    ${fields.actorLabel}::pg_catalog.text, ${fields.action}::pg_catalog.text, ${fields.targetType}::pg_catalog.text,
    ${fields.targetId}::pg_catalog.text, ${fields.requestId}::pg_catalog.text, ${fields.ip}::pg_catalog.inet,
    ${fields.userAgent}::pg_catalog.text, ${fields.changes}`;
  try {
    // The link, and each value cast as the append will store it and printed as the verifier reads it.
    const [link] = rowsOf<AuditSealedColumns & { prev_hash: string | null }>(
      await tx.execute(sql`
        select p.id::pg_catalog.text as id, p.seq::pg_catalog.text as seq,
               pg_catalog.encode(p.prev_hash, 'hex') as prev_hash,
               (extract(epoch from p.created_at))::pg_catalog.text as created_epoch,
               ${organizationId}::pg_catalog.uuid::pg_catalog.text as organization_id,
               ${utf8Hex(sql`${fields.actorType}::public.audit_actor_type`)} as actor_type,
               ${fields.actorId}::pg_catalog.uuid::pg_catalog.text as actor_id,
               ${utf8Hex(sql`${fields.actorLabel}`)} as actor_label,
               ${utf8Hex(sql`${fields.action}`)} as action,
               ${utf8Hex(sql`${fields.targetType}`)} as target_type,
               ${utf8Hex(sql`${fields.targetId}`)} as target_id,
               ${utf8Hex(sql`${fields.requestId}`)} as request_id,
               ${fields.ip}::pg_catalog.inet::pg_catalog.text as ip,
               ${utf8Hex(sql`${fields.userAgent}`)} as user_agent,
               ${utf8Hex(fields.changes)} as changes
        from public.app_audit_prepare(${organizationId}::pg_catalog.uuid) p`),
    );
    if (!link) throw new Error('app_audit_prepare returned no link');
    const prevHash = Buffer.from(link.prev_hash ?? '', 'hex');
    const { keyId, mac } = sealWithRing(ring, 'audit-chain', Buffer.concat([prevHash, auditMessage(link)]));
    const [row] = rowsOf<Record<string, unknown>>(
      await tx.execute(sql`select * from public.app_audit_append(${organizationId}::pg_catalog.uuid,
        ${link.id}::pg_catalog.uuid, ${link.seq}::pg_catalog.int8, ${prevHash}::pg_catalog.bytea,
        ${mac}::pg_catalog.bytea, ${keyId}::pg_catalog.text, ${values})`),
    );
    if (!row) throw new Error('app_audit_append returned no row');
    return rowFromDefiner(tx, auditLogs, row);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** Why a chain stops verifying, at `firstBrokenSeq`. */
export type AuditChainBreak =
  /** A row from before sealing (no key id): it proves nothing. */
  | 'unsealed'
  /** Sealed under a key id the ring does not hold: add the key to verify. */
  | 'unknown_key'
  /** The seal does not match the row: a column, the link or the seal was changed. */
  | 'altered'
  /** Sequence numbers skip: rows were removed (a dropped or detached partition, a deleted row). */
  | 'missing_rows'
  /** A sequence number appears twice. */
  | 'duplicate'
  /** The row does not link to the one before it. */
  | 'relinked'
  /** The newest rows are gone: the trail ends before the head. */
  | 'missing_tail'
  /** Rows past the head, or a trail whose last row is not the head. */
  | 'head_mismatch'
  /** The retention anchor is not sealed by the ring (moved or forged). */
  | 'bad_anchor'
  /** An exported checkpoint is not in the chain any more (the trail was rewound and rewritten). */
  | 'rewound';

/** A sealed copy of a tenant's head, to keep outside the database (a log, object storage). */
export interface AuditCheckpoint {
  organizationId: string;
  seq: number;
  /** Hex of the head's hash. */
  hash: string;
  keyId: string;
  /** Hex HMAC over organization, seq and hash. */
  seal: string;
}

export interface AuditChainReport {
  /** True when the chain verifies from its anchor to the head and nothing structural is wrong. */
  intact: boolean;
  /** Rows whose seal and link were checked before the first break. */
  checked: number;
  firstBrokenSeq: number | null;
  reason: AuditChainBreak | null;
  head: { seq: number; anchorSeq: number };
  /** Structural changes to the trail's tables (partitions detached, triggers disabled, RLS off), named. */
  structural: string[];
  /** True when the ring is the public development ring: seals it makes prove nothing. */
  insecureKey: boolean;
}

/** What a checkpoint's seal covers: a tenant's link at `seq` (its retention anchor, or an exported head). */
export const checkpointMessage = (
  kind: 'anchor' | 'head',
  organizationId: string,
  seq: number,
  hash: Buffer,
) => Buffer.from(`neonhub:audit-${kind}|${organizationId}|${seq}|${hash.toString('hex')}`, 'utf8');

const VERIFY_BATCH = 1000;

/** The tenant's chain head and retention anchor, read from the real table whatever the session's search_path. */
async function readHead(tx: Transaction, organizationId: string) {
  const [row] = rowsOf<{
    seq: string;
    hash: string | null;
    anchor_seq: string;
    anchor_hash: string | null;
    anchor_key_id: string | null;
    anchor_seal: string | null;
  }>(
    await tx.execute(sql`
      select h.seq::pg_catalog.text as seq, pg_catalog.encode(h.hash, 'hex') as hash,
             h.anchor_seq::pg_catalog.text as anchor_seq, pg_catalog.encode(h.anchor_hash, 'hex') as anchor_hash,
             h.anchor_key_id::pg_catalog.text as anchor_key_id, pg_catalog.encode(h.anchor_seal, 'hex') as anchor_seal
      from public.audit_chain_heads h
      where h.organization_id OPERATOR(pg_catalog.=) ${organizationId}::pg_catalog.uuid`),
  );
  return {
    seq: Number(row?.seq ?? 0),
    hash: Buffer.from(row?.hash ?? '', 'hex'),
    anchorSeq: Number(row?.anchor_seq ?? 0),
    anchorHash: Buffer.from(row?.anchor_hash ?? '', 'hex'),
    anchorKeyId: row?.anchor_key_id ?? null,
    anchorSeal: row?.anchor_seal ? Buffer.from(row.anchor_seal, 'hex') : null,
  };
}

/**
 * Checks the current tenant's trail end to end: every row's seal under the ring, every link, no
 * gap from the retention anchor to the head, the head itself, the exported `checkpoints` still in
 * the chain, and the structure of the trail's tables. Names the first bad sequence number.
 */
export async function verifyAuditChain(
  tx: Transaction,
  ring: KeyRing,
  options: { checkpoints?: readonly AuditCheckpoint[] } = {},
): Promise<AuditChainReport> {
  const organizationId = currentTenant(tx);
  const head = await readHead(tx, organizationId);
  const structural = await auditStructureProblems(tx);
  let checked = 0;
  const wanted = new Map<number, Buffer>();
  const report = (firstBrokenSeq: number | null, reason: AuditChainBreak | null): AuditChainReport => ({
    intact: reason === null && structural.length === 0,
    checked,
    firstBrokenSeq,
    reason,
    head: { seq: head.seq, anchorSeq: head.anchorSeq },
    structural,
    insecureKey: ring.insecure,
  });

  if (head.anchorSeq > 0) {
    const sealed =
      head.anchorKeyId && head.anchorSeal
        ? checkSeal(
            ring,
            'audit-checkpoint',
            head.anchorKeyId,
            checkpointMessage('anchor', organizationId, head.anchorSeq, head.anchorHash),
            head.anchorSeal,
          )
        : 'mismatch';
    if (sealed !== 'ok')
      return report(head.anchorSeq + 1, sealed === 'unknown_key' ? 'unknown_key' : 'bad_anchor');
  }
  for (const checkpoint of options.checkpoints ?? []) {
    const hash = Buffer.from(checkpoint.hash, 'hex');
    const sealed =
      checkpoint.organizationId === organizationId &&
      checkSeal(
        ring,
        'audit-checkpoint',
        checkpoint.keyId,
        checkpointMessage('head', organizationId, checkpoint.seq, hash),
        Buffer.from(checkpoint.seal, 'hex'),
      );
    if (sealed !== 'ok')
      throw new TypeError(
        `audit checkpoint at ${checkpoint.seq} is not sealed by this key ring for this organization`,
      );
    if (checkpoint.seq > head.seq) return report(head.seq + 1, 'rewound');
    if (checkpoint.seq === head.anchorSeq && !hash.equals(head.anchorHash))
      return report(checkpoint.seq, 'rewound');
    if (checkpoint.seq > head.anchorSeq) wanted.set(checkpoint.seq, hash);
  }

  let expectedSeq = head.anchorSeq + 1;
  let expectedPrev = head.anchorHash;
  // Keyset on (seq, id), so a duplicated sequence number is seen even across a page boundary.
  let after = { seq: '-1', id: '00000000-0000-0000-0000-000000000000' };
  for (;;) {
    const rows = rowsOf<
      AuditSealedColumns & { prev_hash: string | null; hash: string | null; key_id: string | null }
    >(
      await tx.execute(sql`
        select ${sealedColumnsOf}, pg_catalog.encode(l.prev_hash, 'hex') as prev_hash,
               pg_catalog.encode(l.hash, 'hex') as hash, l.key_id::pg_catalog.text as key_id
        from public.audit_logs l
        where l.organization_id OPERATOR(pg_catalog.=) ${organizationId}::pg_catalog.uuid
          and (l.seq, l.id) OPERATOR(pg_catalog.>) (${after.seq}::pg_catalog.int8, ${after.id}::pg_catalog.uuid)
        order by l.seq, l.id
        limit ${VERIFY_BATCH}`),
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      const prevHash = Buffer.from(row.prev_hash ?? '', 'hex');
      const hash = Buffer.from(row.hash ?? '', 'hex');
      if (row.key_id === null) return report(seq, 'unsealed');
      const sealed = checkSeal(
        ring,
        'audit-chain',
        row.key_id,
        Buffer.concat([prevHash, auditMessage(row)]),
        hash,
      );
      if (sealed !== 'ok') return report(seq, sealed === 'unknown_key' ? 'unknown_key' : 'altered');
      // Rows at or before the anchor are retention's leftovers (concurrent appends at a month's
      // edge): sealed, but the chain is walked from the anchor.
      if (seq <= head.anchorSeq) {
        checked++;
        continue;
      }
      if (seq < expectedSeq) return report(seq, 'duplicate');
      if (seq > expectedSeq) return report(expectedSeq, 'missing_rows');
      if (!prevHash.equals(expectedPrev)) return report(seq, 'relinked');
      const checkpoint = wanted.get(seq);
      if (checkpoint && !checkpoint.equals(hash)) return report(seq, 'rewound');
      checked++;
      expectedSeq = seq + 1;
      expectedPrev = hash;
    }
    if (rows.length < VERIFY_BATCH) break;
    const last = rows[rows.length - 1];
    if (last) after = { seq: last.seq, id: last.id };
  }
  const lastSeq = expectedSeq - 1;
  if (lastSeq < head.seq) return report(lastSeq + 1, 'missing_tail');
  if (lastSeq > head.seq) return report(head.seq + 1, 'head_mismatch');
  if (!expectedPrev.equals(head.hash)) return report(head.seq, 'head_mismatch');
  return report(null, null);
}

/** Verifies every organization's trail, one tenant scope each (the admin-job enumeration path). */
export async function verifyAllAuditChains(
  db: Database,
  ring: KeyRing,
): Promise<{ organizationId: string; report: AuditChainReport }[]> {
  const results: { organizationId: string; report: AuditChainReport }[] = [];
  for (const organizationId of await listOrganizationIdsForAdminJob(db)) {
    results.push({
      organizationId,
      report: await withTenant(db, organizationId, (tx) => verifyAuditChain(tx, ring)),
    });
  }
  return results;
}

/** Seals the current tenant's head for keeping outside the database; pass it back to {@link verifyAuditChain}. */
export async function exportAuditCheckpoint(tx: Transaction, ring: KeyRing): Promise<AuditCheckpoint> {
  const organizationId = currentTenant(tx);
  const { seq, hash } = await readHead(tx, organizationId);
  const { keyId, mac } = sealWithRing(
    ring,
    'audit-checkpoint',
    checkpointMessage('head', organizationId, seq, hash),
  );
  return { organizationId, seq, hash: hash.toString('hex'), keyId, seal: mac.toString('hex') };
}
