import { and, eq, sql } from 'drizzle-orm';
import { uuidv7 } from '../base/ids.ts';
import { guarded, parseInput } from '../base/input.ts';
import type { Database, Transaction } from '../client/client.ts';
import { assertUuid, currentTenant, withTenant } from '../client/tenant.ts';
import {
  type Credential,
  type CredentialMetadata,
  credentials,
  type NewCredential,
} from '../schema/index.ts';
import {
  CredentialDecryptError,
  decryptSecretText,
  encryptSecret,
  keyIdOf,
  rewrapSecret,
  type SecretContext,
} from '../security/crypto.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { storeCredentialInputSchema } from '../validators/identity.ts';
import { listOrganizationIdsForAdminJob } from './organizations.ts';

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
  const organizationId = currentTenant(tx);
  // The validator requires `metadata` although the column defaults to `{}`: supply the default first.
  const valid = parseInput(storeCredentialInputSchema, { metadata: {}, ...input }, 'credentials');
  return guarded(async () => {
    // The id is made before the insert: the ciphertext's context binds it.
    const id = uuidv7();
    const { keyId, ciphertext } = encryptSecret(ring, valid.secret, contextOf(organizationId, id));
    const [row] = await tx
      .insert(credentials)
      .values({
        id,
        organizationId,
        provider: valid.provider,
        kind: valid.kind,
        label: valid.label,
        keyId,
        secret: ciphertext,
        metadata: valid.metadata ?? {},
        createdByUserId: valid.createdByUserId ?? null,
      })
      .returning();
    if (!row) throw new Error('credential insert returned no row');
    return summarize(row);
  });
}

/** The plaintext of one of the current tenant's credentials, or undefined when there is no such row. */
export async function readCredentialSecret(
  tx: Transaction,
  ring: KeyRing,
  credentialId: string,
): Promise<string | undefined> {
  assertUuid(credentialId, 'credentialId');
  const organizationId = currentTenant(tx);
  const [row] = await guarded(() =>
    tx
      .select()
      .from(credentials)
      .where(and(eq(credentials.organizationId, organizationId), eq(credentials.id, credentialId))),
  );
  if (!row) return undefined;
  return decryptSecretText(ring, row.secret, contextOf(row.organizationId, row.id));
}

export interface RotationResult {
  organizations: number;
  rewrapped: number;
  /** Rows already under the active key whose `key_id` column said otherwise: the column was corrected. */
  corrected: number;
  /** Rows that do not decrypt (moved, altered, or under a key the ring lacks): left as they are. */
  failed: { organizationId: string; credentialId: string; reason: CredentialDecryptError['code'] }[];
}

/** The key id inside the envelope itself (authenticated by decryption), or the failure code when there is none. */
function envelopeKeyId(secret: Uint8Array): string | CredentialDecryptError {
  try {
    return keyIdOf(secret);
  } catch (error) {
    if (error instanceof CredentialDecryptError) return error;
    throw error;
  }
}

/**
 * Key rotation: re-wraps every credential whose envelope is not under the ring's active key, one
 * tenant at a time (the admin-job enumeration path). Rows are chosen by the key id inside each
 * envelope, never by the `key_id` column, so a row whose column lies is still rotated (and its
 * column corrected). Each row is authenticated first; one that fails is reported and skipped, so
 * a single damaged row never blocks the rest.
 */
export async function rotateCredentialKeys(db: Database, ring: KeyRing): Promise<RotationResult> {
  const organizationIds = await listOrganizationIdsForAdminJob(db);
  const result: RotationResult = {
    organizations: organizationIds.length,
    rewrapped: 0,
    corrected: 0,
    failed: [],
  };
  for (const organizationId of organizationIds) {
    await withTenant(db, organizationId, async (tx) => {
      const rows = await tx
        .select({ id: credentials.id, keyId: credentials.keyId, secret: credentials.secret })
        .from(credentials)
        .where(eq(credentials.organizationId, organizationId))
        .for('update');
      for (const row of rows) {
        const sealedUnder = envelopeKeyId(row.secret);
        const where = and(eq(credentials.organizationId, organizationId), eq(credentials.id, row.id));
        if (sealedUnder === ring.activeKeyId) {
          if (row.keyId !== sealedUnder) {
            await tx.update(credentials).set({ keyId: sealedUnder }).where(where);
            result.corrected++;
          }
          continue;
        }
        let next: ReturnType<typeof rewrapSecret>;
        try {
          if (sealedUnder instanceof CredentialDecryptError) throw sealedUnder;
          next = rewrapSecret(ring, row.secret, contextOf(organizationId, row.id));
        } catch (error) {
          if (!(error instanceof CredentialDecryptError)) throw error;
          result.failed.push({ organizationId, credentialId: row.id, reason: error.code });
          continue;
        }
        await tx
          .update(credentials)
          .set({ keyId: next.keyId, secret: next.ciphertext, rotatedAt: sql`now()` })
          .where(where);
        result.rewrapped++;
      }
    });
  }
  return result;
}
