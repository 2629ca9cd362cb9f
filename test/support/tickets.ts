import { type SQL, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../../src/client/client.ts';
import { runtimeOf } from '../../src/client/scope-runtime.ts';
import { withTenant } from '../../src/client/tenant.ts';
import { tenantKey, tenantScopeProof } from '../../src/security/tenant-keys.ts';

/**
 * The statement that opens `organizationId`'s scope, with a fresh proof made from the key ring as
 * the runtime makes it: what only code holding the ring can send (the controls of the attacks).
 */
export async function openingStatement(db: Database, organizationId: string): Promise<SQL> {
  const [row] = rowsOf<{ version: number; key_id: string }>(
    await db.execute(sql`select version, key_id from app_tenant_key_version(${organizationId})`),
  );
  if (!row) throw new Error(`no organization ${organizationId}`);
  const key = tenantKey(runtimeOf(db).keys.keyRing(), row.key_id, organizationId, row.version);
  const issued = Date.now();
  const proof = tenantScopeProof(key, organizationId, row.version, issued);
  return sql`select app_open_scope(${organizationId}::uuid, ${row.version}::integer, ${issued}::bigint, ${proof}::bytea)`;
}

/** The ticket a scope of `organizationId` holds, as a statement in it reads it (the scope has ended when this returns). */
export function ticketOf(db: Database, organizationId: string): Promise<string> {
  return withTenant(db, organizationId, async (tx) => {
    const [row] = rowsOf<{ ticket: string }>(
      await tx.execute(sql`select current_setting('app.scope') as ticket`),
    );
    if (!row?.ticket) throw new Error('a scope holds a ticket');
    return row.ticket;
  });
}
