import { createHash, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { parseInput } from '../base/input.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant, withUser } from '../client/tenant.ts';
import { type Invitation, invitations, memberships, rolePermissions } from '../schema/index.ts';
import { insertInvitationSchema } from '../validators/identity.ts';

export interface MemberProfile {
  userId: string;
  email: string;
  name: string | null;
  image: string | null;
  roleId: string;
  joinedAt: Date | null;
}

/**
 * The current tenant's active members with their profiles. `users` itself is closed to tenant
 * scopes: a person is visible in a tenant only through an active membership there.
 */
export async function listMembers(tx: Transaction): Promise<MemberProfile[]> {
  currentTenant(tx);
  const rows = rowsOf<MemberProfile & { joinedAt: Date | string | null }>(
    await tx.execute(
      sql`select user_id as "userId", email, name, image, role_id as "roleId", joined_at as "joinedAt" from app_member_profiles()`,
    ),
  );
  return rows.map((row) => ({ ...row, joinedAt: row.joinedAt === null ? null : new Date(row.joinedAt) }));
}

/** Permission keys a member holds in the current tenant (empty for a non-member or a suspended one). */
export async function memberPermissions(tx: Transaction, userId: string): Promise<string[]> {
  assertUuid(userId, 'userId');
  const organizationId = currentTenant(tx);
  const rows = await tx
    .select({ key: rolePermissions.permissionKey })
    .from(memberships)
    .innerJoin(
      rolePermissions,
      and(
        eq(rolePermissions.organizationId, memberships.organizationId),
        eq(rolePermissions.roleId, memberships.roleId),
      ),
    )
    .where(
      and(
        eq(memberships.organizationId, organizationId),
        eq(rolePermissions.organizationId, organizationId),
        eq(memberships.userId, userId),
        eq(memberships.status, 'active'),
      ),
    )
    .orderBy(rolePermissions.permissionKey);
  return rows.map((row) => row.key);
}

export interface InviteMemberInput {
  email: string;
  roleId: string;
  invitedByUserId?: string;
  /** Default 7 days. */
  expiresInDays?: number;
}

const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** `nh_inv_<organization id, 32 hex digits><43 base64url characters>`. */
const TOKEN_PATTERN = /^nh_inv_([0-9a-f]{32})[A-Za-z0-9_-]{43}$/;

/** The organization an invitation token names, or null when it is not a token of ours. */
function tokenOrganization(token: string): string | null {
  const hex = typeof token === 'string' ? TOKEN_PATTERN.exec(token)?.[1] : undefined;
  if (!hex) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Invites an address into the current tenant. The returned `token` goes into the link mailed to
 * that address and is never stored (only its SHA-256); the person it names accepts it.
 */
export async function inviteMember(
  tx: Transaction,
  input: InviteMemberInput,
): Promise<{ invitation: Invitation; token: string }> {
  const organizationId = currentTenant(tx);
  // The token carries its organization: acceptance then reads that tenant only (one shard on Citus).
  const token = `nh_inv_${organizationId.replaceAll('-', '')}${randomBytes(32).toString('base64url')}`;
  const days = input.expiresInDays ?? 7;
  const values = parseInput(
    insertInvitationSchema,
    {
      organizationId,
      email: input.email,
      roleId: input.roleId,
      tokenHash: tokenHash(token),
      invitedByUserId: input.invitedByUserId,
      expiresAt: new Date(Date.now() + days * 86_400_000),
    },
    'invitations',
  );
  const [invitation] = await tx.insert(invitations).values(values).returning();
  if (!invitation) throw new Error('invitation insert returned no row');
  return { invitation, token };
}

/**
 * The signed-in person accepts an invitation sent to their address (`app_accept_invitation`):
 * they become an active member with the invited role. Returns the organization joined. A token
 * that is not ours, or names another organization, is refused like an unknown one.
 */
export async function acceptInvitation(db: Database, userId: string, token: string): Promise<string> {
  return withUser(db, userId, async (tx) => {
    const [row] = rowsOf<{ organizationId: string }>(
      await tx.execute(
        sql`select app_accept_invitation(${tokenOrganization(token)}::uuid, ${tokenHash(String(token))}) as "organizationId"`,
      ),
    );
    if (!row) throw new Error('app_accept_invitation returned nothing');
    return row.organizationId;
  });
}
