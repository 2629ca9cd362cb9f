import { sql } from 'drizzle-orm';
import { ServerRequirementError } from '../base/errors.ts';
import { guarded, parseInput } from '../base/input.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import { type NewUser, type User, users } from '../schema/index.ts';
import { insertUserSchema } from '../validators/identity.ts';

/**
 * Runs `fn` in a transaction as `neonhub_auth`, the role Auth.js's pool runs as: the one way to
 * write the global Auth.js tables, which forced row-level security closes to everyone else. For
 * the migrating login (a member since the auth_role_for_migrations migration) and `--auth` logins;
 * a tenant service login is refused.
 */
export function asAuthRole<T>(db: Database, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return guarded(() =>
    db.transaction(async (tx) => {
      // One statement: the role taken, or why not (PostgreSQL's own refusal names no remedy).
      const [taken] = rowsOf<{ login: string; member: boolean }>(
        await tx.execute(sql`select current_user as login, pg_catalog.pg_has_role(current_user, 'neonhub_auth', 'MEMBER') as member,
                                    case when pg_catalog.pg_has_role(current_user, 'neonhub_auth', 'MEMBER')
                                         then pg_catalog.set_config('role', 'neonhub_auth', true) end`),
      );
      if (!taken?.member)
        throw new ServerRequirementError(
          `login "${taken?.login}" is not a member of neonhub_auth, the role that writes users: a superuser or an admin of that role runs GRANT neonhub_auth TO "${taken?.login}"`,
        );
      return fn(tx);
    }),
  );
}

/** A person, as sign-in makes one: for seeds and back-office tools that add people before Auth.js does. */
export async function createUser(db: Database, input: NewUser): Promise<User> {
  // The insert schema wants the JSON column even though it has a default.
  const values = parseInput(insertUserSchema, { preferences: {}, ...input }, 'users');
  const [user] = await asAuthRole(db, (tx) => tx.insert(users).values(values).returning());
  if (!user) throw new Error('insert into users returned no row');
  return user;
}
