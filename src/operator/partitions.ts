import { sql } from 'drizzle-orm';
import { bytes, checkpointMessage } from '../audit/audit.ts';
import { toDatabaseError } from '../base/database-errors.ts';
import { type Database, rowsOf } from '../client/client.ts';
import { sealWithRing } from '../security/crypto.ts';
import type { KeyRing } from '../security/key-ring.ts';

// Monthly partition maintenance for every table partitioned by month (the audit trail, campaign
// metrics): partitions created ahead of time, and retention by dropping whole months.

/** Tables partitioned by month; maintenance keeps partitions ahead of time for each. */
export const monthlyPartitionedTables = ['audit_logs', 'campaign_metrics'] as const;

/** Creates missing monthly partitions (a month back, three ahead) for every partitioned table. Run daily. */
export async function ensurePartitions(db: Database): Promise<number> {
  let created = 0;
  for (const table of monthlyPartitionedTables) {
    const [row] = rowsOf<{ created: number }>(
      await db.execute(sql`select app_ensure_monthly_partitions(${table}::regclass) as created`),
    );
    created += Number(row?.created ?? 0);
  }
  return created;
}

/**
 * Retention: drops whole monthly partitions of `table` that end on or before `cutoff`. The only
 * way audit rows ever leave; row-level UPDATE and DELETE stay refused. For `audit_logs` it first
 * records, per organization, a sealed anchor at the newest dropped link (so the kept trail still
 * verifies), in the same transaction as the drop. Runs as the schema owner.
 */
export async function dropPartitionsBefore(
  db: Database,
  table: (typeof monthlyPartitionedTables)[number],
  cutoff: Date,
  options: { ring?: KeyRing } = {},
): Promise<string[]> {
  const { ring } = options;
  if (table === 'audit_logs' && !ring) {
    throw new TypeError('audit retention needs the key ring: it seals the anchor the kept trail starts from');
  }
  const at = cutoff.toISOString();
  try {
    return await db.transaction(async (tx) => {
      if (table === 'audit_logs' && ring) {
        const points = new Map<string, { seq: number; hash: Buffer }>();
        for (const row of rowsOf<{ organization_id: string; seq: string | number; hash: Uint8Array }>(
          await tx.execute(
            sql`select organization_id, seq, hash from app_audit_retention_points(${at}::timestamptz)`,
          ),
        )) {
          const seq = Number(row.seq);
          // One row per organization and month dropped: the newest month's link is the anchor.
          if ((points.get(row.organization_id)?.seq ?? -1) < seq) {
            points.set(row.organization_id, { seq, hash: bytes(row.hash) });
          }
        }
        for (const [organizationId, { seq, hash }] of points) {
          const { keyId, mac } = sealWithRing(
            ring,
            'audit-checkpoint',
            checkpointMessage('anchor', organizationId, seq, hash),
          );
          await tx.execute(
            sql`select app_audit_set_anchor(${organizationId}::uuid, ${seq}::bigint, ${hash}::bytea, ${keyId}::text, ${mac}::bytea)`,
          );
        }
      }
      const rows = rowsOf<{ dropped: string }>(
        await tx.execute(
          sql`select app_drop_partitions_before(${table}::regclass, ${at}::timestamptz) as dropped`,
        ),
      );
      return rows.map((row) => row.dropped);
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}
