import { ServerRequirementError } from '../base/errors.ts';
import type { RawSql } from '../client/client.ts';

// What a server must offer before the migrator writes anything: PostgreSQL 15+, pgvector 0.8+,
// pg_trgm and btree_gin, and a migrating role that may create what is missing.

const semver = (version: string) => version.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
const atLeast = (version: string, minimum: number[]) => {
  const parts = semver(version);
  for (let i = 0; i < minimum.length; i++) {
    const part = parts[i] ?? 0;
    const floor = minimum[i] ?? 0;
    if (part !== floor) return part > floor;
  }
  return true;
};

/** The extensions the migrations create besides pgvector: the PostgreSQL contrib package brings them. */
const CONTRIB_EXTENSIONS = ['pg_trgm', 'btree_gin'];
const EXTENSIONS = ['vector', ...CONTRIB_EXTENSIONS];

const PGVECTOR_HELP =
  'use the pgvector/pgvector docker image (docker compose up -d), or install the distro package postgresql-<major>-pgvector, or unset DATABASE_URL to use the embedded database';

/** Refuses, before anything is written, a server without pgvector >= 0.8, pg_trgm and btree_gin, or older than PostgreSQL 15. */
export async function checkServerRequirements(sql: RawSql): Promise<void> {
  const [server] = await sql.query<{ version: number }>(
    `select current_setting('server_version_num')::int as version`,
  );
  if (!server || server.version < 150000) {
    throw new ServerRequirementError(
      `PostgreSQL ${Math.floor((server?.version ?? 0) / 10000)} is too old: NeonHub needs PostgreSQL 15 or newer`,
    );
  }
  const extensions = await sql.query<{
    name: string;
    default_version: string;
    installed_version: string | null;
  }>('select name, default_version, installed_version from pg_available_extensions where name = any($1)', [
    EXTENSIONS,
  ]);
  const vector = extensions.find((extension) => extension.name === 'vector');
  if (!vector) {
    throw new ServerRequirementError(
      `pgvector is not installed on this server; NeonHub needs pgvector >= 0.8: ${PGVECTOR_HELP}`,
    );
  }
  const vectorVersion = vector.installed_version ?? vector.default_version;
  if (!atLeast(vectorVersion, [0, 8])) {
    throw new ServerRequirementError(
      `pgvector ${vectorVersion} is too old; NeonHub needs pgvector >= 0.8 (iterative index scans): ${PGVECTOR_HELP}, then ALTER EXTENSION vector UPDATE`,
    );
  }
  const missing = CONTRIB_EXTENSIONS.filter(
    (name) => !extensions.some((extension) => extension.name === name),
  );
  if (missing.length > 0) {
    throw new ServerRequirementError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not available on this server: install the PostgreSQL contrib package`,
    );
  }
  await checkExtensionPrivileges(sql);
}

/**
 * A migrating role that cannot create a missing extension (pgvector is not trusted: only a
 * superuser may) gets the one line a superuser must run once in this database.
 */
async function checkExtensionPrivileges(sql: RawSql): Promise<void> {
  const [role] = await sql.query<{ role: string; database: string; uncreatable: string[] | string | null }>(
    `select current_user as role, current_database() as database,
            array(select e.name from pg_available_extensions e
                   join pg_available_extension_versions v on v.name = e.name and v.version = e.default_version
                  where e.name = any($1) and e.installed_version is null
                    and not (select rolsuper from pg_roles where rolname = current_user)
                    and (not v.trusted or not has_database_privilege(current_database(), 'CREATE'))
                  order by e.name desc) as uncreatable`,
    [EXTENSIONS],
  );
  const uncreatable = Array.isArray(role?.uncreatable)
    ? role.uncreatable
    : (role?.uncreatable ?? '')
        .replace(/^\{|\}$/g, '')
        .split(',')
        .filter(Boolean);
  if (!role || uncreatable.length === 0) return;
  throw new ServerRequirementError(
    `role "${role.role}" cannot create the extension${uncreatable.length > 1 ? 's' : ''} ${uncreatable.join(' and ')} (pgvector is not a trusted extension: only a superuser can create it); have a superuser run once, in database "${role.database}": ${uncreatable.map((name) => `CREATE EXTENSION ${name};`).join(' ')}`,
  );
}
