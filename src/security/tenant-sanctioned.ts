/**
 * The statements the package may send that touch tenant tables without naming one tenant, each by
 * the exported function that sends it, with why. The tenant check (`npm run check:statements`)
 * accepts these and nothing else. Keep it short: the sanctioned cross-tenant paths (API-key lookup,
 * a user's organizations, retention, admin jobs) are SECURITY DEFINER functions, and calling one
 * touches no table directly.
 */
export interface SanctionedStatement {
  /** The exported function that sends it. */
  origin: string;
  /** Matches the statement's text. */
  statement: RegExp;
  reason: string;
}

/** Live rows per tenant in a space (chunks, or their re-embedded vectors), on the migrating login: which tenants get (or keep) an index of their own. */
const tenantRowCounts =
  /select c\.organization_id, count\(\*\)::int as n from public\.(?:chunks|chunk_embeddings) c\s+join public\.datasets d on d\.organization_id = c\.organization_id/;

export const sanctionedCrossTenantStatements: readonly SanctionedStatement[] = [
  {
    origin: 'ensureTenantIndexes',
    statement: tenantRowCounts,
    reason:
      "maintenance on the migrating login: counts each tenant's live chunks (or re-embedded vectors) in a space to decide which tenants get an index of their own",
  },
  {
    origin: 'maintainTenantIndexes',
    statement: tenantRowCounts,
    reason:
      "maintenance on the migrating login: counts each tenant's live chunks (or re-embedded vectors) in a space to decide which tenants get or keep an index of their own",
  },
];
