import { and, eq, isNull, sql } from 'drizzle-orm';
import { type ApiKeyEnv, generateApiKey, parseApiKey } from './api-key-format.ts';
import { type Database, rowsOf, type Transaction } from './client.ts';
import { toDatabaseError } from './errors.ts';
import { type ApiKey, apiKeys } from './schema/index.ts';
import { assertUuid } from './tenant.ts';

export interface CreateApiKeyInput {
  name: string;
  scopes?: string[];
  expiresAt?: Date | null;
  createdByUserId?: string | null;
  env?: ApiKeyEnv;
}

/** Row fields safe to show: everything but the hash. */
export type ApiKeySummary = Omit<ApiKey, 'keyHash'>;

/**
 * Creates a key for the current tenant (call inside `withTenant`). The returned `key` is the only
 * time the secret exists outside the caller: the database keeps its SHA-256 and a display prefix.
 */
export async function createApiKey(
  tx: Transaction,
  input: CreateApiKeyInput,
): Promise<{ key: string; apiKey: ApiKeySummary }> {
  const { key, hash, prefix } = generateApiKey(input.env ?? 'live');
  const [row] = await tx
    .insert(apiKeys)
    .values({
      name: input.name,
      prefix,
      keyHash: hash,
      scopes: input.scopes ?? [],
      expiresAt: input.expiresAt ?? null,
      createdByUserId: input.createdByUserId ?? null,
    })
    .returning();
  if (!row) throw new Error('api key insert returned no row');
  const { keyHash: _hash, ...apiKey } = row;
  return { key, apiKey };
}

/** Revokes a key of the current tenant; true when it was live until now. */
export async function revokeApiKey(tx: Transaction, apiKeyId: string): Promise<boolean> {
  assertUuid(apiKeyId, 'apiKeyId');
  const revoked = await tx
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.id, apiKeyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length === 1;
}

export type ApiKeyVerification =
  | { ok: true; organizationId: string; apiKeyId: string; scopes: string[] }
  | { ok: false; reason: 'malformed' | 'bad_checksum' | 'unknown' | 'revoked' | 'expired' };

/**
 * Resolves a presented key to its organization and scopes in one round trip, before any tenant is
 * known. The format and checksum are checked offline first; the database then reads only the row
 * whose hash matches (the `app_resolve_api_key` path) and records its use.
 */
export async function verifyApiKey(db: Database, presented: string): Promise<ApiKeyVerification> {
  const parsed = parseApiKey(presented);
  if (!parsed.ok) return parsed;
  let rows: {
    organization_id: string;
    api_key_id: string;
    scopes: string[];
    expired: boolean;
    revoked: boolean;
  }[];
  try {
    rows = rowsOf(
      await db.execute(sql`
        select organization_id, api_key_id, scopes,
               expires_at is not null and expires_at <= now() as expired,
               revoked_at is not null as revoked
        from app_resolve_api_key(${parsed.hash})`),
    );
  } catch (error) {
    throw toDatabaseError(error);
  }
  const [row] = rows;
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revoked) return { ok: false, reason: 'revoked' };
  if (row.expired) return { ok: false, reason: 'expired' };
  return { ok: true, organizationId: row.organization_id, apiKeyId: row.api_key_id, scopes: row.scopes };
}

/** Whether granted scopes cover a required `resource:action` (`*` and `resource:*` are wildcards). */
export function scopesAllow(granted: readonly string[], required: string): boolean {
  const [resource] = required.split(':');
  return granted.some((scope) => scope === '*' || scope === required || scope === `${resource}:*`);
}
