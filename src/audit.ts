import { sql } from 'drizzle-orm';
import { type Database, rowsOf, type Transaction } from './client.ts';
import { toDatabaseError } from './errors.ts';
import { type AuditLog, auditLogs, type NewAuditLog } from './schema/index.ts';

export type AuditEntry = Omit<
  NewAuditLog,
  'id' | 'organizationId' | 'seq' | 'createdAt' | 'prevHash' | 'hash'
>;

/** Appends to the current tenant's audit trail (call inside `withTenant`); the database links the hash chain. */
export async function recordAudit(tx: Transaction, entry: AuditEntry): Promise<AuditLog> {
  const [row] = await tx.insert(auditLogs).values(entry).returning();
  if (!row) throw new Error('audit insert returned no row');
  return row;
}

/** Recomputes the current tenant's hash chain: how many rows were checked and where it first breaks. */
export async function verifyAuditChain(
  tx: Transaction,
): Promise<{ checked: number; firstBrokenSeq: number | null }> {
  const [row] = rowsOf<{ checked: string | number; first_broken_seq: string | number | null }>(
    await tx.execute(sql`select checked, first_broken_seq from app_verify_audit_chain(app_current_org_id())`),
  );
  return {
    checked: Number(row?.checked ?? 0),
    firstBrokenSeq: row?.first_broken_seq == null ? null : Number(row.first_broken_seq),
  };
}

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
 * way audit rows ever leave; row-level UPDATE and DELETE stay refused. Runs as the schema owner.
 */
export async function dropPartitionsBefore(
  db: Database,
  table: (typeof monthlyPartitionedTables)[number],
  cutoff: Date,
): Promise<string[]> {
  try {
    const rows = rowsOf<{ dropped: string }>(
      await db.execute(
        sql`select app_drop_partitions_before(${table}::regclass, ${cutoff.toISOString()}::timestamptz) as dropped`,
      ),
    );
    return rows.map((row) => row.dropped);
  } catch (error) {
    throw toDatabaseError(error);
  }
}
