import { randomBytes } from 'node:crypto';
import type { DbHandle } from '../client/client.ts';
import { APP_ROLE } from '../client/scope-runtime.ts';

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
 * Citus, run it where roles propagate (the coordinator). A superuser also keeps the login's bind
 * parameters out of the server log (`hideParametersSql`).
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
  await hideParametersFromLogs(handle, name).catch(() => {});
  return secret;
}

/**
 * The SQL that keeps a login's bind parameters (a scope's opening proof among them) out of the
 * server log, whatever `log_statement` or `log_min_duration_statement` say. PostgreSQL lets only a
 * superuser set it: `create-login` does when it can, and prints it for a superuser otherwise.
 */
export const hideParametersSql = (name: string) =>
  `ALTER ROLE ${name} SET log_parameter_max_length = 0; ALTER ROLE ${name} SET log_parameter_max_length_on_error = 0`;

async function hideParametersFromLogs(handle: DbHandle, name: string): Promise<void> {
  await handle.sql.exec(hideParametersSql(name));
}

/** Whether the login's bind parameters stay out of the server log (see `hideParametersSql`). */
export async function parametersHiddenFromLogs(handle: DbHandle, name: string): Promise<boolean> {
  const [row] = await handle.sql.query<{ hidden: boolean }>(
    `select coalesce(s.setconfig @> array['log_parameter_max_length=0'], false) as hidden
       from pg_catalog.pg_roles r
       left join pg_catalog.pg_db_role_setting s on s.setrole = r.oid and s.setdatabase = 0
      where r.rolname = $1`,
    [name],
  );
  return row?.hidden === true;
}
