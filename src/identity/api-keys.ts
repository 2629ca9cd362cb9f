import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { guarded, InputError, type InputIssue, parseInput } from '../base/input.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { type ApiKey, apiKeys, permissions } from '../schema/index.ts';
import { type ApiKeyEnv, generateApiKey, parseApiKey } from '../security/api-key-format.ts';
import { createApiKeyInputSchema } from '../validators/identity.ts';
import { memberPermissions } from './members.ts';

export interface CreateApiKeyInput {
  name: string;
  /** Permission keys from the catalog, each held by the creator. Wildcards are refused. */
  scopes?: string[];
  expiresAt?: Date | null;
  /** The member creating the key: it needs `api_keys:manage` and every scope it grants. */
  createdByUserId: string;
  env?: ApiKeyEnv;
}

/** Row fields safe to show: everything but the hash. */
export type ApiKeySummary = Omit<ApiKey, 'keyHash'>;

/** The permission a member needs to create keys at all. */
const MANAGE_KEYS = 'api_keys:manage';

/**
 * Creates a key for the current tenant (call inside `withTenant`). The returned `key` is the only
 * time the secret exists outside the caller: the database keeps its SHA-256 and a display prefix.
 * Scopes must be permission-catalog keys the creating member holds (a key never grants more than
 * its creator has); `*` and `resource:*` are refused, since they would grow with the catalog.
 */
export async function createApiKey(
  tx: Transaction,
  input: CreateApiKeyInput,
): Promise<{ key: string; apiKey: ApiKeySummary }> {
  const organizationId = currentTenant(tx);
  // The validator requires `scopes` although the column defaults to none: supply the default first.
  const valid = parseInput(createApiKeyInputSchema, { scopes: [], ...input }, 'api_keys');
  const creator = valid.createdByUserId;
  if (!creator) {
    throw new InputError('api_keys', [
      { column: 'created_by_user_id', path: ['createdByUserId'], message: 'the creating member is required' },
    ]);
  }
  const scopes = [...new Set(valid.scopes ?? [])];
  return guarded(async () => {
    const catalog = new Set(
      scopes.length === 0
        ? []
        : (
            await tx
              .select({ key: permissions.key })
              .from(permissions)
              .where(inArray(permissions.key, scopes))
          ).map((row) => row.key),
    );
    const held = new Set(await memberPermissions(tx, creator));
    const issues: InputIssue[] = [];
    if (!held.has(MANAGE_KEYS)) {
      issues.push({
        column: 'created_by_user_id',
        path: ['createdByUserId'],
        message: `the creator is not an active member holding ${MANAGE_KEYS}`,
      });
    }
    for (const [index, scope] of scopes.entries()) {
      const problem = scope.includes('*')
        ? 'wildcard scopes are refused: list the permissions the key needs'
        : !catalog.has(scope)
          ? `"${scope}" is not in the permission catalog`
          : !held.has(scope)
            ? `the creator does not hold "${scope}"`
            : undefined;
      if (problem) issues.push({ column: 'scopes', path: ['scopes', index], message: problem });
    }
    if (issues.length > 0) throw new InputError('api_keys', issues);

    const { key, hash, prefix } = generateApiKey(organizationId, valid.env ?? 'live');
    const [row] = await tx
      .insert(apiKeys)
      .values({
        organizationId,
        name: valid.name,
        prefix,
        keyHash: hash,
        scopes,
        expiresAt: valid.expiresAt ?? null,
        createdByUserId: creator,
      })
      .returning();
    if (!row) throw new Error('api key insert returned no row');
    const { keyHash: _hash, ...apiKey } = row;
    return { key, apiKey };
  });
}

/** Revokes a key of the current tenant; true when it was live until now. */
export async function revokeApiKey(tx: Transaction, apiKeyId: string): Promise<boolean> {
  assertUuid(apiKeyId, 'apiKeyId');
  const organizationId = currentTenant(tx);
  const revoked = await guarded(() =>
    tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(
        and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, apiKeyId), isNull(apiKeys.revokedAt)),
      )
      .returning({ id: apiKeys.id }),
  );
  return revoked.length === 1;
}

export type ApiKeyVerification =
  | { ok: true; organizationId: string; apiKeyId: string; scopes: string[] }
  | { ok: false; reason: 'malformed' | 'bad_checksum' | 'unknown' | 'revoked' | 'expired' };

/**
 * Resolves a presented key to its organization and scopes in one round trip, before any tenant is
 * known. The format and checksum are checked offline first; the database then reads only the row
 * of the organization the key carries whose hash matches (the `app_resolve_api_key` path, one
 * shard on Citus) and records its use. A key naming another organization finds nothing: `unknown`.
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
        from app_resolve_api_key(${parsed.organizationId}::uuid, ${parsed.hash})`),
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
