import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  authAccess,
  bytea,
  createdAt,
  definerAccess,
  lengthCheck,
  primaryId,
  timestamps,
} from './columns.ts';
import { credentialKind, membershipStatus } from './enums.ts';
import { organizations, scopeSecrets, tenantScopeKeys } from './organizations.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

export type { NewOrganization, Organization, OrganizationSettings, TenantScopeKey } from './organizations.ts';
export { bytea, organizations, scopeSecrets, tenantScopeKeys };

export type UserPreferences = {
  theme?: 'light' | 'dark' | 'system';
  emailNotifications?: boolean;
  defaultOrganizationId?: string;
};

// ---------------------------------------------------------------------------------------------
// Global: people and the Auth.js tables (property names are the ones @auth/drizzle-adapter reads).
// In a tenant scope `users` shows only members of the current organization; the Auth.js tables,
// which hold OAuth tokens, are not readable at all (sign-in runs outside tenant scope, as the
// `neonhub_auth` role: authAccess). Their RLS is enabled by the identity_guards migration:
// `.enableRLS()` would change the table types the adapter accepts.
// ---------------------------------------------------------------------------------------------

export const users = pgTable(
  'users',
  {
    id: primaryId(),
    name: text('name'),
    email: text('email').notNull(),
    emailVerified: timestamp('email_verified', { withTimezone: true, mode: 'date' }),
    image: text('image'),
    /** BCP 47 tag used for generated copy and UI, e.g. `en-US`. */
    locale: text('locale').notNull().default('en-US'),
    /** IANA zone name used for schedules and reports, e.g. `Europe/Berlin`. */
    timezone: text('timezone').notNull().default('UTC'),
    preferences: jsonb('preferences').$type<UserPreferences>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('users', t.email, 320),
    // Sign-in looks people up by email whatever its case, and two spellings must not make two users.
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    check('users_email_format_check', sql`${t.email} ~ '^[^@\\s]+@[^@\\s]+$'`),
    // Members' profiles reach a tenant only through app_member_profiles() (active members).
    definerAccess('users'),
    authAccess('users'),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

export const accounts = pgTable(
  'accounts',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    provider: text('provider').notNull(),
    providerAccountId: text('provider_account_id').notNull(),
    refresh_token: text('refresh_token'),
    access_token: text('access_token'),
    expires_at: integer('expires_at'),
    token_type: text('token_type'),
    scope: text('scope'),
    id_token: text('id_token'),
    session_state: text('session_state'),
  },
  (t) => [
    primaryKey({ name: 'accounts_pkey', columns: [t.provider, t.providerAccountId] }),
    index('accounts_user_id_idx').on(t.userId),
    authAccess('accounts'),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    sessionToken: text('session_token').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expires: timestamp('expires', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId), authAccess('sessions')],
);

export const verificationTokens = pgTable(
  'verification_tokens',
  {
    identifier: text('identifier').notNull(),
    token: text('token').notNull(),
    expires: timestamp('expires', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'verification_tokens_pkey', columns: [t.identifier, t.token] }),
    authAccess('verification_tokens'),
  ],
);

export const authenticators = pgTable(
  'authenticators',
  {
    credentialID: text('credential_id').notNull().unique('authenticators_credential_id_key'),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    providerAccountId: text('provider_account_id').notNull(),
    credentialPublicKey: text('credential_public_key').notNull(),
    counter: integer('counter').notNull(),
    credentialDeviceType: text('credential_device_type').notNull(),
    credentialBackedUp: boolean('credential_backed_up').notNull(),
    transports: text('transports'),
  },
  (t) => [
    primaryKey({ name: 'authenticators_pkey', columns: [t.userId, t.credentialID] }),
    authAccess('authenticators'),
  ],
);

/** The permission catalog: `resource:action` keys that roles grant. Global reference data. */
export const permissions = pgTable(
  'permissions',
  {
    key: text('key').primaryKey(),
    description: text('description').notNull(),
    createdAt: createdAt(),
  },
  (t) => [check('permissions_key_format_check', sql`${t.key} ~ '^[a-z_]+:[a-z_*]+$'`)],
);

export type Permission = typeof permissions.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Tenant-owned
// ---------------------------------------------------------------------------------------------

export const roles = tenantTable(
  'roles',
  {
    /** Stable machine name (`owner`, `admin`, `editor`, `viewer`, or a custom key). */
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    /** System roles are created with every organization and cannot be deleted or renamed. */
    isSystem: boolean('is_system').notNull().default(false),
    ...timestamps(),
  },
  (t) => [
    unique('roles_organization_id_key_key').on(t.organizationId, t.key),
    check('roles_key_format_check', sql`${t.key} ~ '^[a-z][a-z0-9_]{1,62}$'`),
    // A person's organizations are listed with their role in each.
    definerAccess('roles'),
    // The system roles of a new organization (app_create_organization).
    definerAccess('roles', 'insert'),
  ],
);

export type Role = typeof roles.$inferSelect;
export type NewRole = typeof roles.$inferInsert;

export const rolePermissions = tenantTable(
  'role_permissions',
  {
    roleId: uuid('role_id').notNull(),
    permissionKey: text('permission_key')
      .notNull()
      .references(() => permissions.key, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    ...tenantReference('role_permissions', t, t.roleId, roles),
    unique('role_permissions_organization_id_role_id_permission_key_key').on(
      t.organizationId,
      t.roleId,
      t.permissionKey,
    ),
    index('role_permissions_permission_key_idx').on(t.permissionKey),
    // The system roles' permissions of a new organization (app_create_organization, INSERT ... RETURNING).
    definerAccess('role_permissions', 'insert'),
    definerAccess('role_permissions'),
  ],
);

export type RolePermission = typeof rolePermissions.$inferSelect;

export const memberships = tenantTable(
  'memberships',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: uuid('role_id').notNull(),
    status: membershipStatus('status').notNull().default('invited'),
    invitedByUserId: uuid('invited_by_user_id').references((): AnyPgColumn => users.id, {
      onDelete: 'set null',
    }),
    invitedAt: timestamp('invited_at', { withTimezone: true }),
    joinedAt: timestamp('joined_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    unique('memberships_organization_id_user_id_key').on(t.organizationId, t.userId),
    // A role still held by someone cannot be deleted.
    ...tenantReference('memberships', t, t.roleId, roles, 'restrict'),
    // "Which organizations am I in?" runs on every sign-in (user scope).
    index('memberships_user_id_idx').on(t.userId),
    // People join only through app_create_organization (the founder) and app_accept_invitation.
    definerAccess('memberships'),
    definerAccess('memberships', 'insert'),
    index('memberships_invited_by_user_id_idx').on(t.invitedByUserId),
  ],
);

export type Membership = typeof memberships.$inferSelect;
export type NewMembership = typeof memberships.$inferInsert;

/**
 * An invitation to join, by email: the token goes to that address (only its SHA-256 is kept) and
 * the person it names accepts it (`acceptInvitation`). A tenant never attaches a person by id.
 */
export const invitations = tenantTable(
  'invitations',
  {
    email: text('email').notNull(),
    roleId: uuid('role_id').notNull(),
    /** SHA-256 of the token sent to `email`. */
    tokenHash: bytea('token_hash').notNull(),
    invitedByUserId: uuid('invited_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedByUserId: uuid('accepted_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('invitations', t, t.roleId, roles, 'cascade'),
    // Acceptance looks an invitation up by the organization its token carries and the token's hash.
    unique('invitations_organization_id_token_hash_key').on(t.organizationId, t.tokenHash),
    // One open invitation per address and organization.
    uniqueIndex('invitations_organization_id_email_key')
      .on(t.organizationId, sql`lower(${t.email})`)
      .where(sql`accepted_at is null`),
    index('invitations_invited_by_user_id_idx').on(t.invitedByUserId),
    index('invitations_accepted_by_user_id_idx').on(t.acceptedByUserId),
    lengthCheck('invitations', t.email, 320),
    check('invitations_email_format_check', sql`${t.email} ~ '^[^@\\s]+@[^@\\s]+$'`),
    check('invitations_token_hash_length_check', sql`octet_length(${t.tokenHash}) = 32`),
    definerAccess('invitations'),
    definerAccess('invitations', 'update'),
  ],
);

export type Invitation = typeof invitations.$inferSelect;

export const apiKeys = tenantTable(
  'api_keys',
  {
    name: text('name').notNull(),
    /** What a UI shows (`nh_live_AbCd1234`); the key itself is shown once and never stored. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key. */
    keyHash: bytea('key_hash').notNull(),
    /** `resource:action` keys from the permission catalog, or `*` for all. */
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdByUserId: uuid('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    ...timestamps(),
  },
  (t) => [
    // Verification looks a key up by the organization it carries and its hash: one tenant, one shard.
    unique('api_keys_organization_id_key_hash_key').on(t.organizationId, t.keyHash),
    index('api_keys_created_by_user_id_idx').on(t.createdByUserId),
    check('api_keys_key_hash_length_check', sql`octet_length(${t.keyHash}) = 32`),
    check('api_keys_name_length_check', sql`char_length(${t.name}) between 1 and 100`),
    // app_resolve_api_key finds a key by the organization the key carries and its hash, and records its use.
    definerAccess('api_keys'),
    definerAccess('api_keys', 'update'),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;

export type CredentialMetadata = {
  scopes?: string[];
  /** When the provider says the token expires (ISO 8601). */
  expiresAt?: string;
  accountLabel?: string;
};

/** Connector secrets, envelope-encrypted by the package (`src/security/crypto.ts`); no plaintext at rest. */
export const credentials = tenantTable(
  'credentials',
  {
    provider: text('provider').notNull(),
    kind: credentialKind('kind').notNull(),
    label: text('label').notNull(),
    /** Key-ring id that wraps the data key, for display; rotation trusts the envelope's own id, not this column. */
    keyId: text('key_id').notNull(),
    /** AES-256-GCM envelope bound to organization, table, row and column. */
    secret: bytea('secret').notNull(),
    metadata: jsonb('metadata').$type<CredentialMetadata>().notNull().default({}),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    createdByUserId: uuid('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    ...timestamps(),
  },
  (t) => [
    // Its entries are bounded in bytes by the columns' limits in byte-limits.ts.
    unique('credentials_organization_id_provider_label_key').on(t.organizationId, t.provider, t.label),
    // Rotation walks rows still wrapped by a retired key.
    index('credentials_key_id_idx').on(t.keyId),
    check('credentials_provider_length_check', sql`char_length(${t.provider}) between 1 and 100`),
    check('credentials_label_length_check', sql`char_length(${t.label}) between 1 and 200`),
    index('credentials_created_by_user_id_idx').on(t.createdByUserId),
  ],
);

export type Credential = typeof credentials.$inferSelect;
export type NewCredential = typeof credentials.$inferInsert;
