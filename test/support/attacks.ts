import { randomBytes } from 'node:crypto';

/**
 * Settings a statement injected into a tenant scope might change to reach another tenant
 * (`$VICTIM`: its organization id, `$VICTIM_OWNER`: its owner's user id). None is a ticket the
 * database issued for the victim in this transaction.
 */
export const midScopeSettingAttacks: Record<string, string[]> = {
  "the victim's id in the old tenant setting": ["select set_config('app.current_org_id', '$VICTIM', true)"],
  'SET of the old tenant setting': ["set local app.current_org_id = '$VICTIM'"],
  'a forged ticket for the victim': [
    `select set_config('app.scope', 't:b:$VICTIM:${randomBytes(32).toString('hex')}', true)`,
  ],
  "this scope's own ticket with the victim's id in it": [
    "select set_config('app.scope', regexp_replace(current_setting('app.scope'), '[0-9a-f]{8}-[0-9a-f-]{27}', '$VICTIM'), true)",
  ],
  "the same, bound to Citus's distributed transaction instead": [
    "select set_config('app.scope', regexp_replace(regexp_replace(current_setting('app.scope'), '[0-9a-f]{8}-[0-9a-f-]{27}', '$VICTIM'), '^t:b:', 't:d:'), true)",
  ],
  'a person ticket of this transaction as a tenant ticket': [
    "select set_config('app.scope', regexp_replace(current_setting('app.scope'), '^t:', 'u:'), true)",
  ],
  'the key setting of earlier versions': [
    `select set_config('app.tenant_key', '${randomBytes(32).toString('hex')}', true)`,
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
