import {
  accounts,
  apiKeys,
  credentials,
  invitations,
  memberships,
  organizations,
  permissions,
  rolePermissions,
  roles,
  sessions,
  users,
} from '../identity.ts';
import { relations } from './define.ts';

// Identity: organizations, users and their Auth.js rows, roles, memberships, invitations, keys.

export const organizationsRelations = relations(organizations, ({ many }) => ({
  memberships: many(memberships),
  invitations: many(invitations),
  roles: many(roles),
  apiKeys: many(apiKeys),
  credentials: many(credentials),
}));

export const usersRelations = relations(users, ({ many }) => ({
  memberships: many(memberships, { relationName: 'memberUser' }),
  accounts: many(accounts),
  sessions: many(sessions),
}));

export const accountsRelations = relations(accounts, ({ one }) => ({
  user: one(users, { fields: [accounts.userId], references: [users.id] }),
}));

export const sessionsRelations = relations(sessions, ({ one }) => ({
  user: one(users, { fields: [sessions.userId], references: [users.id] }),
}));

export const rolesRelations = relations(roles, ({ one, many }) => ({
  organization: one(organizations, { fields: [roles.organizationId], references: [organizations.id] }),
  permissions: many(rolePermissions),
  memberships: many(memberships),
}));

export const rolePermissionsRelations = relations(rolePermissions, ({ one }) => ({
  role: one(roles, {
    fields: [rolePermissions.organizationId, rolePermissions.roleId],
    references: [roles.organizationId, roles.id],
  }),
  permission: one(permissions, { fields: [rolePermissions.permissionKey], references: [permissions.key] }),
}));

export const membershipsRelations = relations(memberships, ({ one }) => ({
  organization: one(organizations, {
    fields: [memberships.organizationId],
    references: [organizations.id],
  }),
  user: one(users, { fields: [memberships.userId], references: [users.id], relationName: 'memberUser' }),
  invitedByUser: one(users, { fields: [memberships.invitedByUserId], references: [users.id] }),
  role: one(roles, {
    fields: [memberships.organizationId, memberships.roleId],
    references: [roles.organizationId, roles.id],
  }),
}));

export const invitationsRelations = relations(invitations, ({ one }) => ({
  organization: one(organizations, {
    fields: [invitations.organizationId],
    references: [organizations.id],
  }),
  role: one(roles, {
    fields: [invitations.organizationId, invitations.roleId],
    references: [roles.organizationId, roles.id],
  }),
  invitedByUser: one(users, { fields: [invitations.invitedByUserId], references: [users.id] }),
  acceptedByUser: one(users, { fields: [invitations.acceptedByUserId], references: [users.id] }),
}));

export const apiKeysRelations = relations(apiKeys, ({ one }) => ({
  organization: one(organizations, { fields: [apiKeys.organizationId], references: [organizations.id] }),
  createdByUser: one(users, { fields: [apiKeys.createdByUserId], references: [users.id] }),
}));

export const credentialsRelations = relations(credentials, ({ one }) => ({
  organization: one(organizations, {
    fields: [credentials.organizationId],
    references: [organizations.id],
  }),
  createdByUser: one(users, { fields: [credentials.createdByUserId], references: [users.id] }),
}));
