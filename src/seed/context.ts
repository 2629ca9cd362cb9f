import { getTableColumns, type InferInsertModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { stableId } from '../base/ids.ts';
import type { Database, Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import type { KeyRing } from '../security/key-ring.ts';

export { stableId };

export interface SeedContext {
  organizationId: string;
  slug: string;
  ownerUserId: string;
  /** Seeded people's user ids, by role key (`owner`, `editor`, `viewer`). */
  memberUserIds: Record<string, string>;
  /** Their memberships' ids, by the same keys. */
  membershipIds: Record<string, string>;
  /** A stable id for one of this organization's seed rows. */
  id(...parts: string[]): string;
  ring: KeyRing;
}

/** Rows newly inserted, per table: a re-run reports zeros. */
export type SeedCounts = Record<string, number>;

export interface DomainSeed {
  name: string;
  /** Global reference rows, written outside any tenant scope. */
  global?(db: Database): Promise<SeedCounts>;
  /** One organization's rows, written inside its tenant scope. */
  tenant?(tx: Transaction, ctx: SeedContext): Promise<SeedCounts>;
}

/**
 * Inserts rows whose ids are fixed, skipping those already there, and counts what was new. Tables
 * whose rows were written by an earlier run are left as they are. A tenant table's rows name the
 * organization of the scope `tx` belongs to, as every statement of the package does.
 */
export async function insertNew<TTable extends PgTable>(
  tx: Database | Transaction,
  table: TTable,
  rows: InferInsertModel<TTable>[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const organizationId = 'organizationId' in getTableColumns(table) ? currentTenant(tx) : undefined;
  const values = organizationId ? rows.map((row) => ({ ...row, organizationId })) : rows;
  // Typed per table by the caller; generic over the table, Drizzle 1.0's insert types cannot follow.
  const inserted = (await tx
    .insert(table)
    .values(values as never)
    .onConflictDoNothing()
    .returning()) as unknown[];
  return inserted.length;
}

export function addCounts(into: SeedCounts, from: SeedCounts): SeedCounts {
  for (const [table, count] of Object.entries(from)) into[table] = (into[table] ?? 0) + count;
  return into;
}
