import { z } from 'zod';
import {
  apiKeys,
  credentials,
  invitations,
  memberships,
  organizations,
  permissions,
  rolePermissions,
  roles,
  users,
} from '../schema/identity.ts';
import { permissionKeys } from '../security/permissions.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema } from './storable.ts';

// Shapes of the JSON columns; the tables' `$type<T>()` say the same in TypeScript.
export const organizationSettingsSchema = z
  .object({
    defaultLocale: z.string().min(2).max(35).optional(),
    defaultTimezone: z.string().min(1).max(64).optional(),
    features: z.record(z.string(), z.boolean()).optional(),
  })
  .strict();

export const userPreferencesSchema = z
  .object({
    theme: z.enum(['light', 'dark', 'system']).optional(),
    emailNotifications: z.boolean().optional(),
    defaultOrganizationId: z.guid().optional(),
  })
  .strict();

export const credentialMetadataSchema = z
  .object({
    scopes: z.array(z.string().min(1)).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    accountLabel: z.string().max(200).optional(),
  })
  .strict();

// The same patterns the tables' CHECK constraints enforce.
export const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const dataRegionPattern = /^[a-z]{2}(-[a-z0-9]+)*$/;
const roleKeyPattern = /^[a-z][a-z0-9_]{1,62}$/;
const emailPattern = /^[^@\s]+@[^@\s]+$/;
const scopePattern = /^(\*|[a-z_]+:(\*|[a-z_]+))$/;

const organizationRefinements = {
  slug: (s: z.ZodString) =>
    s.regex(slugPattern, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  name: (s: z.ZodString) => s.trim().min(1).max(200),
  dataRegion: (s: z.ZodString) => s.regex(dataRegionPattern, 'a region code such as `us` or `eu-west`'),
  settings: organizationSettingsSchema,
};
export const selectOrganizationSchema = createSelectSchema(organizations, {
  settings: organizationSettingsSchema,
});
/** For `createOrganization`, which picks the id and registers the first tenant key version. */
export const insertOrganizationSchema = createInsertSchema(organizations, organizationRefinements);
/** A tenant changes its organization's details, never its id (not granted to neonhub_app). */
export const updateOrganizationSchema = createUpdateSchema(organizations, organizationRefinements).omit({
  id: true,
});

const userRefinements = {
  email: (s: z.ZodString) => s.regex(emailPattern, 'an email address').max(320),
  preferences: userPreferencesSchema,
};
export const selectUserSchema = createSelectSchema(users, { preferences: userPreferencesSchema });
export const insertUserSchema = createInsertSchema(users, userRefinements);
export const updateUserSchema = createUpdateSchema(users, userRefinements);

export const selectPermissionSchema = createSelectSchema(permissions);
export const permissionKeySchema = z.enum(permissionKeys);

const roleRefinements = {
  key: (s: z.ZodString) =>
    s.regex(roleKeyPattern, 'lowercase letters, digits and underscores, starting with a letter'),
  name: (s: z.ZodString) => s.trim().min(1).max(100),
};
export const selectRoleSchema = createSelectSchema(roles);
export const insertRoleSchema = createInsertSchema(roles, roleRefinements);
export const updateRoleSchema = createUpdateSchema(roles, roleRefinements);

export const selectRolePermissionSchema = createSelectSchema(rolePermissions);
export const insertRolePermissionSchema = createInsertSchema(rolePermissions, {
  permissionKey: () => permissionKeySchema,
});

export const selectMembershipSchema = createSelectSchema(memberships);
// No insert schema: people join through createOrganization (the founding owner) and
// acceptInvitation; a tenant never writes a membership's person (not granted to neonhub_app).
export const updateMembershipSchema = createUpdateSchema(memberships).omit({
  id: true,
  organizationId: true,
  userId: true,
});

/** What an API may show of an invitation: never its token's hash. */
export const selectInvitationSchema = createSelectSchema(invitations).omit({ tokenHash: true });
const invitationRefinements = {
  email: (s: z.ZodString) => s.regex(emailPattern, 'an email address').max(320),
};
export const insertInvitationSchema = createInsertSchema(invitations, {
  ...invitationRefinements,
  tokenHash: z.custom<Buffer>((value) => Buffer.isBuffer(value) && value.length === 32, 'a SHA-256'),
});
/** An invitation's token never changes: a new one is a new invitation. */
export const updateInvitationSchema = createUpdateSchema(invitations, invitationRefinements).omit({
  tokenHash: true,
});

/** What an API may show of a key: never its hash. */
export const selectApiKeySchema = createSelectSchema(apiKeys).omit({ keyHash: true });
/** What a caller supplies to create a key; the package generates the secret, hash and prefix. */
export const createApiKeyInputSchema = createInsertSchema(apiKeys, {
  name: (s) => s.trim().min(1).max(100),
  scopes: z.array(z.string().regex(scopePattern, '`resource:action`, `resource:*` or `*`')),
})
  .pick({ name: true, scopes: true, expiresAt: true, createdByUserId: true })
  .extend({ env: z.enum(['live', 'test']).optional() });

/** What an API may show of a credential: never its ciphertext. */
export const selectCredentialSchema = createSelectSchema(credentials, {
  metadata: credentialMetadataSchema,
}).omit({
  secret: true,
});
export const storeCredentialInputSchema = createInsertSchema(credentials, {
  provider: (s) => s.trim().min(1).max(100),
  label: (s) => s.trim().min(1).max(200),
  metadata: credentialMetadataSchema,
})
  .pick({ provider: true, kind: true, label: true, metadata: true, createdByUserId: true })
  .extend({ secret: z.string().min(1) });
