/**
 * The permission catalog (`resource:action`) and the system roles every organization gets. The
 * catalog rows are written by the identity migration; a test keeps this list and them equal.
 */
export const permissionKeys = [
  'organization:read',
  'organization:update',
  'organization:delete',
  'members:read',
  'members:invite',
  'members:update',
  'members:remove',
  'roles:read',
  'roles:manage',
  'api_keys:read',
  'api_keys:manage',
  'credentials:read',
  'credentials:manage',
  'audit_logs:read',
  'brands:read',
  'brands:write',
  'agents:read',
  'agents:write',
  'agents:run',
  'conversations:read',
  'conversations:write',
  'datasets:read',
  'datasets:write',
  'content:read',
  'content:write',
  'content:publish',
  'campaigns:read',
  'campaigns:write',
  'billing:read',
  'billing:manage',
  'integrations:read',
  'integrations:manage',
  'tasks:read',
  'tasks:write',
] as const;

export type PermissionKey = (typeof permissionKeys)[number];

const reads = permissionKeys.filter((key) => key.endsWith(':read'));
const sensitiveReads = new Set<PermissionKey>([
  'api_keys:read',
  'credentials:read',
  'audit_logs:read',
  'billing:read',
]);

export const systemRoleKeys = ['owner', 'admin', 'editor', 'viewer'] as const;
export type SystemRoleKey = (typeof systemRoleKeys)[number];

export const systemRoles: Record<
  SystemRoleKey,
  { name: string; description: string; permissions: readonly PermissionKey[] }
> = {
  owner: {
    name: 'Owner',
    description: 'Everything, including deleting the organization',
    permissions: permissionKeys,
  },
  admin: {
    name: 'Admin',
    description: 'Everything but deleting the organization and changing billing',
    permissions: permissionKeys.filter((key) => key !== 'organization:delete' && key !== 'billing:manage'),
  },
  editor: {
    name: 'Editor',
    description: 'Creates and runs marketing work; no administration',
    permissions: [
      ...reads.filter((key) => !sensitiveReads.has(key)),
      'brands:write',
      'agents:write',
      'agents:run',
      'conversations:write',
      'datasets:write',
      'content:write',
      'campaigns:write',
      'tasks:write',
    ],
  },
  viewer: {
    name: 'Viewer',
    description: 'Reads marketing work',
    permissions: reads.filter((key) => !sensitiveReads.has(key)),
  },
};
