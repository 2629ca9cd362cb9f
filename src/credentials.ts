import { and, eq, ne, sql } from 'drizzle-orm';
import { type Database, rowsOf, type Transaction } from './client.ts';
import {
  CredentialDecryptError,
  decryptSecretText,
  encryptSecret,
  type KeyRing,
  rewrapSecret,
  type SecretContext,
} from './crypto.ts';
import { listOrganizationIdsForAdminJob } from './organizations.ts';
import { type Credential, type CredentialMetadata, credentials, type NewCredential } from './schema/index.ts';
import { assertUuid, withTenant } from './tenant.ts';

export interface StoreCredentialInput {
  provider: string;
  kind: NewCredential['kind'];
  label: string;
  /** The plaintext secret (token, key); encrypted before it leaves the process. */
  secret: string;
  metadata?: CredentialMetadata;
  createdByUserId?: string | null;
}

/** Everything about a credential but its secret. */
export type CredentialSummary = Omit<Credential, 'secret'>;

const contextOf = (organizationId: string, rowId: string): SecretContext => ({
  organizationId,
  table: 'credentials',
  rowId,
  column: 'secret',
});

function summarize(row: Credential): CredentialSummary {
  const { secret: _secret, ...summary } = row;
  return summary;
}

/**
 * Encrypts and stores a connector secret for the current tenant (call inside `withTenant`). The
 * ciphertext is bound to this organization, row and column: copied anywhere else it fails to decrypt.
 */
export async function storeCredential(
  tx: Transaction,
  ring: KeyRing,
  input: StoreCredentialInput,
): Promise<CredentialSummary> {
  const [ids] = rowsOf<{ id: string; organization_id: string | null }>(
    await tx.execute(sql`select uuidv7()::text as id, app_current_org_id()::text as organization_id`),
  );
  if (!ids?.organization_id) throw new Error('storeCredential must run inside withTenant');
  const { keyId, ciphertext } = encryptSecret(ring, input.secret, contextOf(ids.organization_id, ids.id));
  const [row] = await tx
    .insert(credentials)
    .values({
      id: ids.id,
      organizationId: ids.organization_id,
      provider: input.provider,
      kind: input.kind,
      label: input.label,
      keyId,
      secret: ciphertext,
      metadata: input.metadata ?? {},
      createdByUserId: input.createdByUserId ?? null,
    })
    .returning();
  if (!row) throw new Error('credential insert returned no row');
  return summarize(row);
}

/** The plaintext of one of the current tenant's credentials, or undefined when there is no such row. */
export async function readCredentialSecret(
  tx: Transaction,
  ring: KeyRing,
  credentialId: string,
): Promise<string | undefined> {
  assertUuid(credentialId, 'credentialId');
  const [row] = await tx.select().from(credentials).where(eq(credentials.id, credentialId));
  if (!row) return undefined;
  return decryptSecretText(ring, row.secret, contextOf(row.organizationId, row.id));
}

export interface RotationResult {
  organizations: number;
  rewrapped: number;
  /** Rows that do not decrypt (moved, altered, or under a key the ring lacks): left as they are. */
  failed: { organizationId: string; credentialId: string; reason: CredentialDecryptError['code'] }[];
}

/**
 * Key rotation: re-wraps every credential not yet under the ring's active key, one tenant at a
 * time (the admin-job enumeration path). Each row is authenticated first; one that fails is
 * reported and skipped, so a single damaged row never blocks the rest.
 */
export async function rotateCredentialKeys(db: Database, ring: KeyRing): Promise<RotationResult> {
  const organizationIds = await listOrganizationIdsForAdminJob(db);
  const result: RotationResult = { organizations: organizationIds.length, rewrapped: 0, failed: [] };
  for (const organizationId of organizationIds) {
    await withTenant(db, organizationId, async (tx) => {
      const stale = await tx
        .select()
        .from(credentials)
        .where(ne(credentials.keyId, ring.activeKeyId))
        .for('update');
      for (const row of stale) {
        let next: ReturnType<typeof rewrapSecret>;
        try {
          next = rewrapSecret(ring, row.secret, contextOf(row.organizationId, row.id));
        } catch (error) {
          if (!(error instanceof CredentialDecryptError)) throw error;
          result.failed.push({ organizationId, credentialId: row.id, reason: error.code });
          continue;
        }
        await tx
          .update(credentials)
          .set({ keyId: next.keyId, secret: next.ciphertext, rotatedAt: sql`now()` })
          .where(and(eq(credentials.organizationId, row.organizationId), eq(credentials.id, row.id)));
        result.rewrapped++;
      }
    });
  }
  return result;
}
