import { randomBytes } from 'node:crypto';

/**
 * Settings a statement injected into a tenant scope might change to reach another tenant
 * (`$VICTIM`: its organization id, `$VICTIM_OWNER`: its owner's user id). None is a key.
 */
export const midScopeSettingAttacks: Record<string, string[]> = {
  "the victim's id in the old tenant setting": ["select set_config('app.current_org_id', '$VICTIM', true)"],
  'SET of the old tenant setting': ["set local app.current_org_id = '$VICTIM'"],
  'a forged scope key': [`select set_config('app.tenant_key', '${randomBytes(32).toString('hex')}', true)`],
  "the victim's sealed key as the key": [
    "select set_config('app.tenant_key', encode(app_organization_scope_key('$VICTIM'), 'hex'), true)",
  ],
  'enumeration switched on': ["select set_config('app.enumerate_organizations', 'on', true)"],
  "a person's id": ["select set_config('app.current_user_id', '$VICTIM_OWNER', true)"],
  'the API-key hash setting': ["select set_config('app.api_key_hash', repeat('0', 64), true)"],
};

/** Role changes a statement injected into a service login's scope might try. */
export const roleAttacks = [
  'reset role',
  'set role postgres',
  'set role neonhub_definer',
  'alter table brands no force row level security',
];
