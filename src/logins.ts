import { randomBytes } from 'node:crypto';
import type { DbHandle } from './client.ts';
import { APP_ROLE } from './scope-runtime.ts';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The role the Auth.js pool acts as (migration auth_role): the five Auth.js tables, nothing else. */
export const AUTH_ROLE = 'neonhub_auth';

export interface ServiceLoginOptions {
  /**
   * `app` (default): a member of `neonhub_app`, for services that open tenant scopes. `auth`: a
   * member of `neonhub_auth` only, for the Auth.js pool. Never both: a login in both roles would
   * let a statement injected into a tenant scope `RESET ROLE` and read sessions and OAuth tokens.
   */
  role?: 'app' | 'auth';
}

/**
 * Creates the role a service logs in as: LOGIN, and nothing else of its own (not superuser, no
 * CREATEDB/CREATEROLE, no BYPASSRLS, owns nothing), a member of `neonhub_app` (so tenant scopes can
 * switch to it and `RESET ROLE` gains nothing) or, with `{ role: 'auth' }`, of `neonhub_auth`.
 * Returns the password (generated when not given). Needs a migrating role with CREATEROLE; on
 * Citus, run it where roles propagate (the coordinator).
 */
export async function createServiceLogin(
  handle: DbHandle,
  name: string,
  password?: string,
  options: ServiceLoginOptions = {},
): Promise<string> {
  if (!ROLE_NAME.test(name)) {
    throw new TypeError(
      'a login name is 1-63 lowercase letters, digits and underscores, not starting with a digit',
    );
  }
  const member = options.role === 'auth' ? AUTH_ROLE : APP_ROLE;
  const secret = password ?? randomBytes(24).toString('base64url');
  const literal = `'${secret.replaceAll("'", "''")}'`;
  await handle.sql.exec(
    `CREATE ROLE ${name} LOGIN PASSWORD ${literal} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT IN ROLE ${member}`,
  );
  return secret;
}
