import { randomBytes } from 'node:crypto';
import type { DrizzleAdapter } from '@auth/drizzle-adapter';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDatabaseError } from '../src/base/database-errors.ts';
import { DatabaseError } from '../src/base/errors.ts';
import { createDb, type Database, type DbHandle, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createServiceLogin } from '../src/operator/logins.ts';
import { accounts, authenticators, sessions, users, verificationTokens } from '../src/schema/index.ts';
import { seedTenant } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { authAdapterLoads } from './support/drizzle-line.ts';
import { acmeTenant } from './support/tenants.ts';

const database = useTestDatabase();
const authTables = ['users', 'accounts', 'sessions', 'verification_tokens', 'authenticators'] as const;

/** A handle logged in as `name`, on this file's database. */
function connectAs(name: string, password: string): DbHandle {
  const url = new URL(database.current.url ?? '');
  url.username = name;
  url.password = password;
  return createDb({ url: url.toString(), max: 2 });
}

/** The rows of `table` as the test database's superuser sees them (what is really stored). */
const stored = <T extends Record<string, unknown> = Record<string, unknown>>(
  query: string,
  params: unknown[] = [],
) => database.current.sql.query<T>(query, params);

/** Row count of `table` read through `db`, or `refused` when the database denies permission. */
async function readCount(db: Database | Transaction, table: string): Promise<number | 'refused'> {
  const read = (tx: Database | Transaction) =>
    tx.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`);
  try {
    // In a scope, the savepoint keeps the transaction usable after a refusal.
    const result: unknown = await db.transaction((sp) => read(sp));
    // postgres.js returns the rows, PGlite a result holding them.
    const rows = (Array.isArray(result) ? result : (result as { rows: { n: number }[] }).rows) as {
      n: number;
    }[];
    return Number(rows[0]?.n);
  } catch (caught) {
    const error = toDatabaseError(caught);
    if (error instanceof DatabaseError && error.kind === 'permission_denied') return 'refused';
    throw caught;
  }
}

describe.skipIf(!onServer || !authAdapterLoads)(
  'Auth.js on a non-owner login (server only: PGlite has one superuser session; drizzle-orm 0.45 only: @auth/drizzle-adapter 1.11 does not load with 1.0)',
  () => {
    const authLogin = `neonhub_test_auth_${randomBytes(4).toString('hex')}`;
    const appLogin = `neonhub_test_svc_${randomBytes(4).toString('hex')}`;
    let auth: DbHandle;
    let app: DbHandle;
    let adapter: Required<ReturnType<typeof DrizzleAdapter>>;
    let userId: string;
    let acmeId: string;
    const expires = new Date(Date.now() + 86_400_000);

    beforeAll(async () => {
      acmeId = (await seedTenant(database.current.db, acmeTenant)).organizationId;
      auth = connectAs(
        authLogin,
        await createServiceLogin(database.current, authLogin, undefined, { role: 'auth' }),
      );
      app = connectAs(appLogin, await createServiceLogin(database.current, appLogin));
      const { DrizzleAdapter } = await import('@auth/drizzle-adapter');
      adapter = DrizzleAdapter(auth.db, {
        usersTable: users,
        accountsTable: accounts,
        sessionsTable: sessions,
        verificationTokensTable: verificationTokens,
        authenticatorsTable: authenticators,
      }) as Required<ReturnType<typeof DrizzleAdapter>>;
    });

    afterAll(async () => {
      await auth?.close();
      await app?.close();
      await database.current.sql.exec(
        `drop owned by ${authLogin}; drop role if exists ${authLogin}; drop owned by ${appLogin}; drop role if exists ${appLogin}`,
      );
    });

    it('the auth login is a member of neonhub_auth only', async () => {
      const roles = await stored<{ role: string }>(
        `select r.rolname as role from pg_auth_members m join pg_roles r on r.oid = m.roleid
        where m.member = (select oid from pg_roles where rolname = $1)`,
        [authLogin],
      );
      expect(roles.map((r) => r.role)).toEqual(['neonhub_auth']);
    });

    it('createUser', async () => {
      const user = await adapter.createUser({
        id: 'ignored',
        email: 'ada@example.com',
        emailVerified: null,
        name: 'Ada',
      });
      expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada', emailVerified: null });
      expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
      userId = user.id;
      expect(await stored(`select email, name from users where id = $1`, [userId])).toEqual([
        { email: 'ada@example.com', name: 'Ada' },
      ]);
    });

    it('getUser', async () => {
      expect((await adapter.getUser(userId))?.email).toBe('ada@example.com');
      expect(await adapter.getUser('0190a000-0000-7000-8000-000000000000')).toBeNull();
    });

    it('getUserByEmail', async () => {
      expect((await adapter.getUserByEmail('ada@example.com'))?.id).toBe(userId);
      expect(await adapter.getUserByEmail('nobody@example.com')).toBeNull();
    });

    it('updateUser', async () => {
      const verified = new Date('2026-01-02T03:04:05Z');
      const updated = await adapter.updateUser({ id: userId, name: 'Ada L.', emailVerified: verified });
      expect(updated).toMatchObject({ id: userId, name: 'Ada L.', email: 'ada@example.com' });
      expect(updated.emailVerified?.getTime()).toBe(verified.getTime());
      const [row] = await stored<{ name: string; email_verified: Date }>(
        `select name, email_verified from users where id = $1`,
        [userId],
      );
      expect(row?.name).toBe('Ada L.');
      expect(new Date(row?.email_verified ?? 0).getTime()).toBe(verified.getTime());
    });

    it('linkAccount', async () => {
      // This adapter version returns nothing from linkAccount: the row is the result.
      await adapter.linkAccount({
        userId,
        type: 'oauth',
        provider: 'github',
        providerAccountId: 'gh-1',
        access_token: 'gho_secret',
        expires_at: 1_900_000_000,
      });
      expect(
        await stored(`select user_id, access_token, expires_at from accounts where provider = 'github'`),
      ).toEqual([{ user_id: userId, access_token: 'gho_secret', expires_at: 1_900_000_000 }]);
    });

    it('getUserByAccount', async () => {
      expect((await adapter.getUserByAccount({ provider: 'github', providerAccountId: 'gh-1' }))?.id).toBe(
        userId,
      );
      expect(await adapter.getUserByAccount({ provider: 'github', providerAccountId: 'gh-2' })).toBeNull();
    });

    it('getAccount', async () => {
      expect(await adapter.getAccount('gh-1', 'github')).toMatchObject({
        userId,
        access_token: 'gho_secret',
      });
      expect(await adapter.getAccount('gh-2', 'github')).toBeNull();
    });

    it('createSession', async () => {
      const session = await adapter.createSession({ sessionToken: 'tok-1', userId, expires });
      expect(session).toMatchObject({ sessionToken: 'tok-1', userId });
      expect(await stored(`select user_id from sessions where session_token = 'tok-1'`)).toEqual([
        { user_id: userId },
      ]);
    });

    it('getSessionAndUser', async () => {
      const found = await adapter.getSessionAndUser('tok-1');
      expect(found?.user.id).toBe(userId);
      expect(found?.session.expires.getTime()).toBe(expires.getTime());
      expect(await adapter.getSessionAndUser('tok-none')).toBeNull();
    });

    it('updateSession', async () => {
      const later = new Date(expires.getTime() + 3_600_000);
      const updated = await adapter.updateSession({ sessionToken: 'tok-1', expires: later });
      expect(updated?.expires.getTime()).toBe(later.getTime());
      const [row] = await stored<{ expires: Date }>(
        `select expires from sessions where session_token = 'tok-1'`,
      );
      expect(new Date(row?.expires ?? 0).getTime()).toBe(later.getTime());
    });

    it('createVerificationToken', async () => {
      const token = await adapter.createVerificationToken({
        identifier: 'ada@example.com',
        token: 'v-1',
        expires,
      });
      expect(token).toMatchObject({ identifier: 'ada@example.com', token: 'v-1' });
      expect(await stored(`select identifier from verification_tokens where token = 'v-1'`)).toEqual([
        { identifier: 'ada@example.com' },
      ]);
    });

    it('useVerificationToken', async () => {
      await adapter.createVerificationToken({ identifier: 'ada@example.com', token: 'v-2', expires });
      expect(
        (await adapter.useVerificationToken({ identifier: 'ada@example.com', token: 'v-2' }))?.token,
      ).toBe('v-2');
      expect(await adapter.useVerificationToken({ identifier: 'ada@example.com', token: 'v-2' })).toBeNull();
      expect(await stored(`select token from verification_tokens order by token`)).toEqual([
        { token: 'v-1' },
      ]);
    });

    it('createAuthenticator', async () => {
      const created = await adapter.createAuthenticator({
        credentialID: 'cred-1',
        userId,
        providerAccountId: 'gh-1',
        credentialPublicKey: 'pk',
        counter: 0,
        credentialDeviceType: 'singleDevice',
        credentialBackedUp: false,
        transports: 'usb',
      });
      expect(created).toMatchObject({ credentialID: 'cred-1', userId, counter: 0 });
      expect(await stored(`select user_id, counter from authenticators`)).toEqual([
        { user_id: userId, counter: 0 },
      ]);
    });

    it('getAuthenticator', async () => {
      expect(await adapter.getAuthenticator('cred-1')).toMatchObject({ userId, transports: 'usb' });
      expect(await adapter.getAuthenticator('cred-none')).toBeNull();
    });

    it('listAuthenticatorsByUserId', async () => {
      const listed = await adapter.listAuthenticatorsByUserId(userId);
      expect(listed.map((a) => a.credentialID)).toEqual(['cred-1']);
    });

    it('updateAuthenticatorCounter', async () => {
      expect((await adapter.updateAuthenticatorCounter('cred-1', 7)).counter).toBe(7);
      expect(await stored(`select counter from authenticators where credential_id = 'cred-1'`)).toEqual([
        { counter: 7 },
      ]);
    });

    it('a tenant scope reads none of the Auth.js tables, and the auth login reads all of them', async () => {
      // Control: every table holds rows (the seeded owner is an acme member), and the auth login sees them.
      const authSees = Object.fromEntries(
        await Promise.all(authTables.map(async (t) => [t, await readCount(auth.db, t)])),
      );
      for (const table of authTables) expect(authSees[table], table).toBeGreaterThan(0);
      for (const db of [database.current.db, app.db]) {
        const scopeSees = await withTenant(db, acmeId, async (tx) => {
          const seen: Record<string, number | 'refused'> = {};
          for (const table of authTables) seen[table] = await readCount(tx, table);
          return seen;
        });
        for (const table of authTables) expect([0, 'refused'], table).toContain(scopeSees[table]);
      }
    });

    it('the tenant service login cannot read sessions, even after RESET ROLE; the auth login can', async () => {
      expect(await readCount(app.db, 'sessions')).toBe('refused');
      const afterReset = await withTenant(app.db, acmeId, async (tx) => {
        await tx.execute(sql`reset role`);
        return readCount(tx, 'sessions');
      });
      expect(afterReset).toBe('refused');
      expect(await readCount(auth.db, 'sessions')).toBe(1);
    });

    it('the auth login reads no tenant table', async () => {
      expect(await readCount(auth.db, 'organizations')).toBe('refused');
      expect(await readCount(auth.db, 'memberships')).toBe('refused');
      // Control: acme's memberships are there to be read.
      const [row] = await stored<{ n: number }>(`select count(*)::int as n from memberships`);
      expect(row?.n).toBeGreaterThan(0);
    });

    it('unlinkAccount', async () => {
      await adapter.unlinkAccount({ provider: 'github', providerAccountId: 'gh-1' });
      expect(await stored(`select * from accounts`)).toEqual([]);
    });

    it('deleteSession', async () => {
      await adapter.deleteSession('tok-1');
      expect(await stored(`select * from sessions`)).toEqual([]);
    });

    it('deleteUser', async () => {
      await adapter.createSession({ sessionToken: 'tok-2', userId, expires });
      await adapter.deleteUser(userId);
      expect(await stored(`select id from users where id = $1`, [userId])).toEqual([]);
      // Its sessions and authenticators go with it (ON DELETE CASCADE, through the auth policies).
      expect(await stored(`select * from sessions`)).toEqual([]);
      expect(await stored(`select * from authenticators`)).toEqual([]);
    });
  },
);

describe.skipIf(!authAdapterLoads)(
  'the adapter on our tables, as the migrating login (drizzle-orm 0.45 only: @auth/drizzle-adapter 1.11 does not load with 1.0)',
  () => {
    it('creates a user, links an account, round-trips a session and uses a verification token', async () => {
      const { DrizzleAdapter } = await import('@auth/drizzle-adapter');
      const { db } = database.current;
      const adapter = DrizzleAdapter(db, {
        usersTable: users,
        accountsTable: accounts,
        sessionsTable: sessions,
        verificationTokensTable: verificationTokens,
        authenticatorsTable: authenticators,
      });
      const created = await adapter.createUser?.({
        id: 'ignored',
        email: 'new@example.com',
        emailVerified: null,
        name: 'New',
      });
      expect(created?.id).toMatch(/^[0-9a-f-]{36}$/);
      expect((await adapter.getUserByEmail?.('new@example.com'))?.id).toBe(created?.id);
      await adapter.linkAccount?.({
        userId: created?.id ?? '',
        type: 'oauth',
        provider: 'github',
        providerAccountId: 'gh-42',
        access_token: 'gho_token',
        expires_at: 1_900_000_000,
      });
      expect(
        (await adapter.getUserByAccount?.({ provider: 'github', providerAccountId: 'gh-42' }))?.email,
      ).toBe('new@example.com');
      const expires = new Date(Date.now() + 86_400_000);
      await adapter.createSession?.({ sessionToken: 'tok-1', userId: created?.id ?? '', expires });
      const found = await adapter.getSessionAndUser?.('tok-1');
      expect(found?.user.email).toBe('new@example.com');
      expect(found?.session.expires.getTime()).toBe(expires.getTime());
      await adapter.deleteSession?.('tok-1');
      expect(await adapter.getSessionAndUser?.('tok-1')).toBeNull();
      await adapter.createVerificationToken?.({ identifier: 'new@example.com', token: 'v-1', expires });
      expect(
        (await adapter.useVerificationToken?.({ identifier: 'new@example.com', token: 'v-1' }))?.token,
      ).toBe('v-1');
      expect(
        await adapter.useVerificationToken?.({ identifier: 'new@example.com', token: 'v-1' }),
      ).toBeNull();
      await adapter.createAuthenticator?.({
        credentialID: 'cred-1',
        userId: created?.id ?? '',
        providerAccountId: 'gh-42',
        credentialPublicKey: 'pk',
        counter: 0,
        credentialDeviceType: 'singleDevice',
        credentialBackedUp: false,
      });
      expect((await adapter.getAuthenticator?.('cred-1'))?.counter).toBe(0);
    });
  },
);
