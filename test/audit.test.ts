import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditChainReport,
  type AuditEntry,
  exportAuditCheckpoint,
  recordAudit,
  verifyAuditChain,
} from '../src/audit/audit.ts';
import { type AuditSealedColumns, auditMessage, sealedColumnsOf } from '../src/audit/audit-seal.ts';
import { trailFunctions } from '../src/audit/audit-structure.ts';
import { DatabaseError } from '../src/base/errors.ts';
import { createDb, type DbHandle, type RawSql, rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { defaultMigrationsFolder } from '../src/operator/migrate.ts';
import { dropPartitionsBefore } from '../src/operator/partitions.ts';
import { auditLogs, users } from '../src/schema/index.ts';
import { checkSeal, sealWithRing } from '../src/security/crypto.ts';
import { createKeyRing, loadKeyRing } from '../src/security/key-ring.ts';
import { adminUrlFor } from './support/backend.ts';
import {
  backend,
  onServer,
  openTestDatabase,
  type TestDatabase,
  useTestDatabase,
} from './support/database.ts';
import { anyCodePoints } from './support/text.ts';

const ring = createKeyRing([{ id: 'audit-2026', key: randomBytes(32) }]);
/** What an attacker without the key would use to re-seal rows. */
const otherRing = createKeyRing([{ id: 'audit-2026', key: randomBytes(32) }]);

const database = useTestDatabase();
let ownerUserId: string;

async function newOrganization(db: DbHandle['db'], slug: string): Promise<string> {
  return (await createOrganization(db, { slug, name: slug, ownerUserId })).organization.id;
}

async function record(
  db: DbHandle['db'],
  org: string,
  count: number,
  action = 'brand.updated',
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await withTenant(db, org, (tx) =>
      recordAudit(tx, ring, {
        actorType: 'user',
        actorId: ownerUserId,
        action,
        targetType: 'brand',
        targetId: `b${i}`,
        ip: '10.0.0.1',
        changes: { after: { name: `Brand ${i}`, price: 1.5 } },
      }),
    );
  }
}

const verify = (db: DbHandle['db'], org: string, options?: Parameters<typeof verifyAuditChain>[2]) =>
  withTenant(db, org, (tx) => verifyAuditChain(tx, ring, options));

/** The break a report names, without the counts. */
const broken = (report: AuditChainReport) => ({
  firstBrokenSeq: report.firstBrokenSeq,
  reason: report.reason,
});

/** Runs SQL as the app role inside a tenant scope: the refusal's kind, or how many rows it touched. */
async function asApp(db: DbHandle['db'], org: string, statement: string): Promise<string> {
  try {
    const result = await withTenant(db, org, (tx) => tx.execute(sql.raw(statement)));
    const count =
      (result as { count?: number; affectedRows?: number }).count ??
      (result as { affectedRows?: number }).affectedRows;
    return `${count ?? 0} rows`;
  } catch (error) {
    return error instanceof DatabaseError ? error.kind : String(error);
  }
}

/** Appends the next link through the definer path itself, under a seal made without the key. */
async function appendWithForgedSeal(db: DbHandle['db'], org: string): Promise<void> {
  await withTenant(db, org, async (tx) => {
    const [link] = rowsOf<{ id: string; seq: number; prev_hash: Uint8Array }>(
      await tx.execute(sql`select id, seq, prev_hash from app_audit_prepare(${org}::uuid)`),
    );
    await tx.execute(sql`select app_audit_append(${org}::uuid, ${link?.id}::uuid, ${link?.seq}::bigint,
      ${Buffer.from(link?.prev_hash ?? [])}::bytea, ${randomBytes(32)}::bytea, 'audit-2026', 'system',
      null, null, 'brand.deleted', null, null, null, null, null, '{}'::jsonb)`);
  });
}

/** The columns app_audit_message() takes, in its order. */
const sealedArguments =
  'organization_id, seq, id, created_at, actor_type, actor_id, actor_label, action, target_type, target_id, request_id, ip, user_agent, changes';
const messageArgumentTypes =
  'uuid, bigint, uuid, timestamptz, audit_actor_type, uuid, text, text, text, text, text, inet, text, jsonb';

/** Seal bytes as an attacker without the key would make them: the old unkeyed SHA-256. */
const unkeyedSeal = `sha256(prev_hash || app_audit_message(${sealedArguments}))`;

/** Each row's TypeScript message beside app_audit_message()'s, read the way the verifier reads rows. */
async function messagesBothWays(db: DbHandle['db'], org: string) {
  const rows = rowsOf<AuditSealedColumns & { sql_message: string }>(
    await db.execute(sql`
      select ${sealedColumnsOf},
             pg_catalog.encode(public.app_audit_message(${sql.raw(sealedArguments.replace(/(\w+)/g, 'l.$1'))}), 'hex') as sql_message
      from public.audit_logs l where l.organization_id = ${org}::uuid order by l.seq`),
  );
  return rows.map((row) => ({ row, ours: auditMessage(row).toString('hex'), theirs: row.sql_message }));
}

/**
 * What the verifier trusted before: each seal checked against app_audit_message()'s output. True
 * when every row of the organization passes that way (the wrapper attack's control).
 */
async function sealsPassThroughSqlMessage(raw: RawSql, org: string): Promise<boolean> {
  const rows = await raw.query<{
    prev_hash: Uint8Array;
    hash: Uint8Array;
    key_id: string;
    message: Uint8Array;
  }>(
    `select prev_hash, hash, key_id, app_audit_message(${sealedArguments}) as message
     from audit_logs where organization_id = $1 order by seq`,
    [org],
  );
  return (
    rows.length > 0 &&
    rows.every(
      (row) =>
        checkSeal(
          ring,
          'audit-chain',
          row.key_id,
          Buffer.concat([Buffer.from(row.prev_hash), Buffer.from(row.message)]),
          Buffer.from(row.hash),
        ) === 'ok',
    )
  );
}

/**
 * The owner's wrapper: app_audit_message() renamed, and in its place a function with the same
 * signature and settings that returns one row's bytes as they are now (before the caller edits it)
 * and the original's for every other row. Returns the undo.
 */
async function wrapMessageFunction(run: RawSql, org: string, seq: number): Promise<() => Promise<void>> {
  const [row] = await run.query<{ id: string; message: string }>(
    `select id, encode(app_audit_message(${sealedArguments}), 'hex') as message
     from audit_logs where organization_id = $1 and seq = $2`,
    [org, seq],
  );
  if (!row) throw new Error(`no row ${seq}`);
  const forwarded = Array.from({ length: 14 }, (_, i) => `$${i + 1}`).join(', ');
  await run.exec(
    `alter function public.app_audit_message(${messageArgumentTypes}) rename to app_audit_message_original;
     create function public.app_audit_message(${messageArgumentTypes}) returns bytea
     language sql immutable parallel safe set search_path = pg_catalog, public, pg_temp
     as $$ select case when $3 = '${row.id}'::uuid then '\\x${row.message}'::bytea
                       else public.app_audit_message_original(${forwarded}) end $$`,
  );
  return () =>
    run.exec(
      `drop function public.app_audit_message(${messageArgumentTypes});
       alter function public.app_audit_message_original(${messageArgumentTypes}) rename to app_audit_message`,
    );
}

/** Strings PostgreSQL stores as given: well-formed UTF-16 (so UTF-8 round-trips) and no NUL. */
const storable = (value: string) =>
  !value.includes('\0') && Buffer.from(value, 'utf8').toString('utf8') === value;

/** Rows no append path would write, for the encoding alone: every column's awkward values. */
function awkwardRows(org: string) {
  const texts = [
    'é',
    'e\u0301',
    '😀👩‍👩‍👧 ',
    '\u2028\u2029',
    '"\\/\b\f\n\r\t\u0001\u001f\u007f',
    'שלום עולם',
    '\ufeff\u00a0',
    "'; drop table audit_logs; --",
    '',
    ...fc.sample(anyCodePoints(40).filter(storable), { numRuns: 120, seed: 7 }),
  ];
  const long = ['é'.repeat(3000), 'x'.repeat(20_000)];
  const ips = [
    null,
    '10.0.0.1',
    '10.0.0.0/8',
    '192.168.1.7/24',
    '::ffff:1.2.3.4',
    '2001:DB8:0:0:0:0:0:1/64',
    'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789',
    '::',
    '::1/128',
    '0.0.0.0/0',
  ];
  const times = [
    '2026-11-05 12:34:56.123456+00',
    '1969-12-31 23:59:59.999999+00',
    '1970-01-01 00:00:00+00',
    '2000-02-29 00:00:00.000001+05:30',
    '1900-01-01 00:00:00.5-08',
    '0044-03-15 12:00:00.654321+00 BC',
    '9999-12-31 23:59:59.999999+00',
  ];
  const big = {
    after: Object.fromEntries(
      Array.from({ length: 3000 }, (_, i) => [`k${(i * 7919) % 3000}`, { v: i, s: 'é'.repeat(i % 40) }]),
    ),
  };
  const nested = (depth: number): unknown =>
    depth === 0 ? { leaf: '😀' } : { [`d${depth}`]: nested(depth - 1) };
  const changes = [
    '{}',
    'null',
    '"just text"',
    '[]',
    '{"b": {"z": 1, "a": [{"y": 2, "x": 1}]}, "a": null, "10": 1, "2": 2, "aa": "é", "": 0}',
    '{"n": [1.0, 1.50, -0, 0.0, 1e-7, 1E+3, 1e400, 12345678901234567890123456789.123456789, -1.5e-300]}',
    '{"escaped": "\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/", "controls": "\\u001f\\u007f"}',
    '{"dup": 1, "dup": 2}',
    JSON.stringify(nested(60)),
    JSON.stringify(big),
    ...fc
      .sample(fc.jsonValue({ maxDepth: 4 }), { numRuns: 60, seed: 11 })
      .map((value) => JSON.stringify(value) ?? 'null')
      .filter((value) => !value.includes('\\u0000')),
  ];
  const actorTypes = ['user', 'api_key', 'agent', 'system'] as const;
  const pick = <T>(values: readonly T[], i: number): T => values[i % values.length] as T;
  return Array.from({ length: 200 }, (_, i) => {
    const actorType = pick(actorTypes, i);
    const id = randomUUID();
    return {
      organization_id: org,
      // Upper case in, canonical lower case out.
      id: i % 3 === 0 ? id.toUpperCase() : id,
      seq: pick(['1', '9007199254740993', '9223372036854775807', String(i + 2)], i),
      created_at: i < times.length ? times[i] : pick(times, i * 5),
      actor_type: actorType,
      actor_id: actorType === 'system' && i % 2 === 0 ? null : randomUUID(),
      actor_label: i % 7 === 0 ? null : pick([...texts, ...long], i),
      action: pick(['brand.updated', 'api_key.revoked', 'x_y.z_w'], i),
      target_type: i % 5 === 0 ? null : pick(texts, i + 1).slice(0, 50),
      target_id: i % 6 === 0 ? null : pick(texts, i + 2).slice(0, 100),
      request_id: i % 4 === 0 ? null : pick(texts, i + 3),
      ip: pick(ips, i),
      user_agent: i % 8 === 0 ? null : pick([...long, ...texts], i + 4),
      changes: pick(changes, i),
    };
  });
}

beforeAll(async () => {
  const [owner] = await database.current.db.insert(users).values({ email: 'ann@acme.example' }).returning();
  if (!owner) throw new Error('no user');
  ownerUserId = owner.id;
});

describe('the sealed message', () => {
  it('is built in TypeScript byte for byte as app_audit_message() builds it, over rows of awkward values', async () => {
    const { db, sql: raw } = database.current;
    const org = randomUUID();
    const rows = awkwardRows(org);
    await raw.query(
      `insert into audit_logs (organization_id, id, seq, created_at, actor_type, actor_id, actor_label, action,
                               target_type, target_id, request_id, ip, user_agent, changes)
       select r.organization_id, r.id, r.seq, r.created_at, r.actor_type::audit_actor_type, r.actor_id, r.actor_label,
              r.action, r.target_type, r.target_id, r.request_id, r.ip, r.user_agent, r.changes::jsonb
       from jsonb_to_recordset($1::text::jsonb) as r(organization_id uuid, id uuid, seq bigint, created_at timestamptz,
         actor_type text, actor_id uuid, actor_label text, action text, target_type text, target_id text,
         request_id text, ip inet, user_agent text, changes text)`,
      [JSON.stringify(rows)],
    );
    const compared = await messagesBothWays(db, org);
    const differing = compared.filter((c) => c.ours !== c.theirs);
    const largest = Math.max(...compared.map((c) => c.theirs.length / 2));
    console.log(
      `audit message encoding: ${compared.length - differing.length} of ${compared.length} rows identical to app_audit_message(), largest ${largest} bytes`,
    );
    expect(compared).toHaveLength(rows.length);
    expect(differing.map((c) => c.row)).toEqual([]);
  });

  it('seals awkward entries through recordAudit that verify intact, with app_audit_message() agreeing', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'awkward-entries');
    const entries: AuditEntry[] = [
      {
        actorType: 'user',
        actorId: ownerUserId.toUpperCase(),
        actorLabel: '😀 e\u0301 \u2028 "quoted" \\ back',
        action: 'brand.updated',
        targetType: 'brand',
        targetId: 'line\nbreak\ttab\u0001',
        ip: '2001:DB8:0:0:0:0:0:1/64',
        userAgent: 'Mozilla/5.0 '.repeat(400),
        changes: {
          before: { '10': 1, '2': { b: 1, a: [1.5, -0, 1e21, 2 ** 53 + 2] }, é: null, '': 'empty key' },
          after: Object.fromEntries(
            Array.from({ length: 2000 }, (_, i) => [`field_${(i * 31) % 2000}`, `v${i}é`]),
          ),
        },
      },
      { actorType: 'system', action: 'brand.created', ip: '::FFFF:10.0.0.1', requestId: 'req\u00a0\u2029id' },
      {
        actorType: 'agent',
        actorId: ownerUserId,
        action: 'agent.ran',
        ip: '10.1.2.3/16',
        changes: { after: null },
      },
      { actorType: 'api_key', actorId: ownerUserId, action: 'api_key.used', targetId: 'שלום', changes: {} },
    ];
    for (const entry of entries) await withTenant(db, org, (tx) => recordAudit(tx, ring, entry));
    expect(await verify(db, org)).toMatchObject({ intact: true, checked: entries.length });
    const compared = await messagesBothWays(db, org);
    expect(compared.filter((c) => c.ours !== c.theirs).map((c) => c.row.seq)).toEqual([]);
  });

  it('pins every function the trail depends on to the body its newest migration installs', () => {
    const journal = JSON.parse(
      readFileSync(path.join(defaultMigrationsFolder, 'meta/_journal.json'), 'utf8'),
    ) as { entries: { tag: string }[] };
    const installed = new Map<string, string>();
    for (const { tag } of journal.entries) {
      const text = readFileSync(path.join(defaultMigrationsFolder, `${tag}.sql`), 'utf8');
      for (const match of text.matchAll(
        /CREATE (?:OR REPLACE )?FUNCTION (?:public\.)?(\w+)\s*\([^$]*?\$\$([\s\S]*?)\$\$/gi,
      )) {
        const [, name = '', body = ''] = match;
        installed.set(name, createHash('sha256').update(body, 'utf8').digest('hex'));
      }
    }
    expect(trailFunctions.map((f) => [f.name, f.body])).toEqual(
      trailFunctions.map((f) => [f.name, installed.get(f.name)]),
    );
  });
});

describe('the honest path', () => {
  it('seals every entry with the key ring, stamps the time in the database, and verifies up to the head', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'honest');
    const before = Date.now();
    await record(db, org, 5);
    const report = await verify(db, org);
    console.log(`audit honest path: ${report.checked} rows verified up to head ${report.head.seq}`);
    expect(report).toEqual({
      intact: true,
      checked: 5,
      firstBrokenSeq: null,
      reason: null,
      head: { seq: 5, anchorSeq: 0 },
      structural: [],
      insecureKey: false,
    });
    const rows = await raw.query<{ seq: string; key_id: string; created_at: Date; hash: Buffer }>(
      `select seq, key_id, created_at, hash from audit_logs where organization_id = $1 order by seq`,
      [org],
    );
    expect(rows.map((row) => Number(row.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(rows.every((row) => row.key_id === 'audit-2026' && row.hash.length === 32)).toBe(true);
    expect(rows.every((row) => new Date(row.created_at).getTime() >= before - 1000)).toBe(true);
    // Another ring (an attacker's guess at the key) sees the seals as altered.
    const guessed = await withTenant(db, org, (tx) => verifyAuditChain(tx, otherRing));
    expect(broken(guessed)).toEqual({ firstBrokenSeq: 1, reason: 'altered' });
  });

  it('keeps appends of one organization in order when they race', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'racing');
    await Promise.all(Array.from({ length: 8 }, () => record(db, org, 1)));
    const report = await verify(db, org);
    expect(report).toMatchObject({ intact: true, checked: 8, head: { seq: 8 } });
  });

  it('validates entries before writing anything, and sets created_at itself whatever the caller sends', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'validated');
    const error = await withTenant(db, org, (tx) =>
      recordAudit(tx, ring, { actorType: 'user', actorId: ownerUserId, action: 'Not An Action' }),
    ).catch((e: unknown) => e);
    expect(String(error)).toMatch(/audit_logs.*action/);
    const sneaky = {
      actorType: 'system',
      action: 'brand.created',
      createdAt: new Date('2019-01-01'),
    } as const;
    const row = await withTenant(db, org, (tx) => recordAudit(tx, ring, sneaky));
    expect(row.createdAt.getFullYear()).toBeGreaterThan(2020);
    expect((await verify(db, org)).intact).toBe(true);
    // The row comes back from the append itself, exactly as a select of it reads.
    const full = await withTenant(db, org, (tx) =>
      recordAudit(tx, ring, {
        ...sneaky,
        ip: '10.0.0.1',
        changes: { after: { price: 1.5 } },
        targetId: 'b1',
      }),
    );
    const [stored] = await withTenant(db, org, (tx) =>
      tx
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.organizationId, org), eq(auditLogs.id, full.id))),
    );
    expect(full).toEqual(stored);
    expect(full.hash).toBeInstanceOf(Buffer);
  });
});

describe('the app role (neonhub_app) cannot rewrite the trail undetected', () => {
  it('is refused every direct write on the trail, its partitions and the chain heads', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'app-attacks');
    const victim = await newOrganization(db, 'app-victim');
    await record(db, org, 3);
    await record(db, victim, 2);
    const [partition] = await raw.query<{ name: string }>(
      `select tableoid::regclass::text as name from audit_logs where organization_id = $1 limit 1`,
      [org],
    );
    const attacks = [
      `update audit_logs set action = 'brand.deleted'`,
      `delete from audit_logs`,
      `truncate audit_logs`,
      `update ${partition?.name} set action = 'brand.deleted'`,
      `delete from ${partition?.name}`,
      `insert into audit_logs (organization_id, actor_type, action, created_at) values ('${org}', 'system', 'brand.created', '2019-06-01')`,
      `insert into audit_chain_heads (organization_id, seq, hash) values ('${randomBytes(16)
        .toString('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')}', 0, '')`,
      `update audit_chain_heads set seq = 1`,
      `delete from audit_chain_heads`,
      `select app_audit_set_anchor('${org}', 3, '\\x00', 'audit-2026', '\\x00')`,
      `select * from app_audit_retention_points(now() + interval '1 year')`,
      // Another tenant's chain, through the append path itself.
      `select * from app_audit_prepare('${victim}')`,
    ];
    const outcomes = await Promise.all(
      attacks.map(async (attack) => `${await asApp(db, org, attack)} <- ${attack.slice(0, 60)}`),
    );
    const succeeded = outcomes.filter((outcome) => !/^(permission_denied|raised)/.test(outcome));
    console.log(`audit app-role attacks: ${attacks.length - succeeded.length} of ${attacks.length} refused`);
    expect(succeeded).toEqual([]);
    const privileges = await raw.query<{ table: string; write: boolean }>(
      `select t as table, has_table_privilege('neonhub_app', t, 'INSERT') or has_table_privilege('neonhub_app', t, 'UPDATE')
              or has_table_privilege('neonhub_app', t, 'DELETE') or has_table_privilege('neonhub_app', t, 'TRUNCATE') as write
       from unnest(array['audit_logs', 'audit_chain_heads']) t`,
    );
    expect(privileges).toEqual([
      { table: 'audit_logs', write: false },
      { table: 'audit_chain_heads', write: false },
    ]);
    expect((await verify(db, org)).intact).toBe(true);
    expect((await verify(db, victim)).intact).toBe(true);
  });

  // Roles are cluster-wide: PGlite runs one superuser, so only a server can show a service login.
  it.skipIf(!onServer)('a service login that is only a member of neonhub_app gets no further', async () => {
    const { db, sql: raw, url } = database.current;
    const org = await newOrganization(db, 'service-login');
    await record(db, org, 2);
    const role = `audit_service_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await raw.exec(
      `create role ${role} login nosuperuser nobypassrls password '${password}'; grant neonhub_app to ${role}`,
    );
    const login = new URL(url ?? '');
    login.username = role;
    login.password = password;
    const service = createDb({ url: login.toString(), max: 1 });
    try {
      // Positive control: its own tenant scope appends and verifies.
      await withTenant(service.db, org, (tx) =>
        recordAudit(tx, ring, { actorType: 'system', action: 'service.checked' }),
      );
      const attacks = [
        `update audit_chain_heads set seq = 0`,
        `delete from audit_chain_heads`,
        `insert into audit_logs (organization_id, actor_type, action) values ('${org}', 'system', 'brand.created')`,
        `delete from audit_logs`,
        `select app_audit_set_anchor('${org}', 1, '\\x00', 'audit-2026', '\\x00')`,
        `select * from app_audit_retention_points(now())`,
        `set role neonhub_definer`,
        `reset role; update audit_chain_heads set seq = 0`,
      ];
      const outcomes: string[] = [];
      for (const attack of attacks) {
        const error = await service.sql.exec(attack).catch((e: unknown) => e);
        outcomes.push(
          error instanceof Error && /permission denied|must be able to SET ROLE/.test(error.message)
            ? 'refused'
            : `went through: ${attack}`,
        );
      }
      console.log(
        `audit service-login attacks: ${outcomes.filter((o) => o === 'refused').length} of ${attacks.length} refused`,
      );
      expect(outcomes.filter((o) => o !== 'refused')).toEqual([]);
      expect(await verify(db, org)).toMatchObject({ intact: true, checked: 3 });
    } finally {
      await service.close();
      await raw.exec(`drop role ${role}`);
    }
  });

  it('meets the definer functions only as neonhub_definer owns them: search_path pinned, EXECUTE for the app on appends alone', async () => {
    const { sql: raw } = database.current;
    const functions = await raw.query<{
      name: string;
      owner: string;
      definer: boolean;
      config: string[] | null;
      public_execute: boolean;
      app_execute: boolean;
    }>(
      `select p.proname as name, pg_get_userbyid(p.proowner) as owner, p.prosecdef as definer, p.proconfig as config,
              exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                      where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public_execute,
              has_function_privilege('neonhub_app', p.oid, 'EXECUTE') as app_execute
       from pg_proc p
       where p.pronamespace = 'public'::regnamespace and p.proname like 'app\\_audit\\_%' and p.prosecdef
       order by 1`,
    );
    expect(functions.map((f) => [f.name, f.app_execute])).toEqual([
      ['app_audit_append', true],
      ['app_audit_prepare', true],
      ['app_audit_retention_points', false],
      ['app_audit_set_anchor', false],
    ]);
    for (const f of functions) {
      expect({ name: f.name, owner: f.owner, public: f.public_execute }).toEqual({
        name: f.name,
        owner: 'neonhub_definer',
        public: false,
      });
      expect(f.config).toContain('search_path=pg_catalog, public, pg_temp');
    }
  });

  it('detects a row appended through the definer path with a seal it forged', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'forged-append');
    await record(db, org, 2);
    await appendWithForgedSeal(db, org);
    await record(db, org, 1);
    expect(broken(await verify(db, org))).toEqual({ firstBrokenSeq: 3, reason: 'altered' });
  });

  it("a scope's temp views and types ahead of pg_catalog on its search_path mask nothing from a verification in it", async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'scope-masks');
    const honest = await newOrganization(db, 'scope-masks-honest');
    await record(db, org, 2);
    await record(db, honest, 3);
    await appendWithForgedSeal(db, org);
    const masks = [
      'set local search_path = pg_temp, pg_catalog, public',
      // The trail without the forged row, and a head that ends before it.
      'create temp view audit_logs as select * from public.audit_logs where seq < 3',
      `create temp view audit_chain_heads as
         select h.organization_id, least(h.seq, 2)::bigint as seq,
                coalesce((select l.hash from public.audit_logs l
                          where l.organization_id = h.organization_id and l.seq = least(h.seq, 2)), h.hash) as hash,
                h.anchor_seq, h.anchor_hash, h.anchor_key_id, h.anchor_seal
         from public.audit_chain_heads h`,
      // Catalogs as the scope would like the structural check to read them.
      `create temp view pg_trigger as
         select t.oid, t.tgrelid, t.tgparentid, t.tgname, t.tgfoid, t.tgtype, 'O'::"char" as tgenabled, t.tgqual, t.tgisinternal
         from pg_catalog.pg_trigger t`,
      `create temp view pg_class as
         select c.oid, c.relname, c.relnamespace, c.relkind, true as relrowsecurity, true as relforcerowsecurity
         from pg_catalog.pg_class c`,
      // Types resolved ahead of pg_catalog's.
      'create domain pg_temp.uuid as text',
      'create domain pg_temp.int8 as int4',
    ];
    /** Verifies `target` in a scope whose masks are in place, and what an unqualified read sees there. */
    const maskedVerify = (target: string, then?: (tx: Transaction) => Promise<unknown>) =>
      withTenant(db, target, async (tx) => {
        for (const mask of masks) await tx.execute(sql.raw(mask));
        const [seen] = rowsOf<{ last: number; disabled: number }>(
          await tx.execute(
            sql.raw(`select (select max(seq)::int from audit_logs where organization_id = '${target}') as last,
                            (select count(*)::int from pg_trigger where tgenabled = 'D') as disabled`),
          ),
        );
        await then?.(tx);
        return { seen, report: await verifyAuditChain(tx, ring) };
      });

    await raw.exec('alter table audit_logs disable trigger audit_logs_refuse_update_delete');
    const forged = await maskedVerify(org).finally(() =>
      raw.exec('alter table audit_logs enable trigger audit_logs_refuse_update_delete'),
    );
    // Control: inside that scope, an unqualified read sees the trail end at 2 and no disabled trigger.
    expect(forged.seen).toEqual({ last: 2, disabled: 0 });
    expect(broken(forged.report)).toEqual({ firstBrokenSeq: 3, reason: 'altered' });
    expect(forged.report.structural).toContain(
      'audit_logs: trigger audit_logs_refuse_update_delete is disabled',
    );
    // The honest trail verifies intact under the same masks, and appends through them.
    const clean = await maskedVerify(honest, (tx) =>
      recordAudit(tx, ring, { actorType: 'system', action: 'brand.checked' }),
    );
    expect(clean.seen?.last).toBe(2);
    expect(clean.report).toMatchObject({ intact: true, checked: 4, head: { seq: 4 } });
    console.log(
      `audit scope masks: ${masks.length - 1} temp objects ahead of pg_catalog; forged row found at ${forged.report.firstBrokenSeq}, honest trail intact`,
    );
    expect(broken(await verify(db, org))).toEqual({ firstBrokenSeq: 3, reason: 'altered' });
    expect(await verify(db, honest)).toMatchObject({ intact: true, checked: 4 });
  });
});

describe('a superuser without the key cannot rewrite the trail undetected', () => {
  /** Runs statements with every trigger skipped, as only a superuser can. */
  async function behindTriggers(handle: TestDatabase, statements: string): Promise<void> {
    const session = await handle.dedicated();
    try {
      await session.exec(`begin; set local session_replication_role = replica; ${statements}; commit;`);
    } finally {
      await session.release();
    }
  }

  it('an edited row, even re-hashed the old unkeyed way and relinked, breaks at its sequence number', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'su-edit');
    await record(db, org, 5);
    await behindTriggers(
      database.current,
      `update audit_logs set target_id = 'forged' where organization_id = '${org}' and seq = 3;
       update audit_logs set hash = ${unkeyedSeal} where organization_id = '${org}' and seq = 3`,
    );
    expect(broken(await verify(db, org))).toEqual({ firstBrokenSeq: 3, reason: 'altered' });
  });

  it('deleting the newest rows is detected against the head, and rewinding the head too against an exported checkpoint', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'su-tail');
    await record(db, org, 4);
    const checkpoint = await withTenant(db, org, (tx) => exportAuditCheckpoint(tx, ring));
    expect(checkpoint).toMatchObject({ organizationId: org, seq: 4 });
    expect((await verify(db, org, { checkpoints: [checkpoint] })).intact).toBe(true);
    await behindTriggers(
      database.current,
      `delete from audit_logs where organization_id = '${org}' and seq >= 3`,
    );
    expect(broken(await verify(db, org))).toEqual({ firstBrokenSeq: 3, reason: 'missing_tail' });
    // Rewind the head to the last kept row: consistent inside the database...
    await raw.query(
      `update audit_chain_heads h set seq = 2, hash = l.hash from audit_logs l
       where h.organization_id = $1 and l.organization_id = $1 and l.seq = 2`,
      [org],
    );
    expect((await verify(db, org)).intact).toBe(true);
    // ...but not with the checkpoint kept outside it.
    expect(broken(await verify(db, org, { checkpoints: [checkpoint] }))).toEqual({
      firstBrokenSeq: 3,
      reason: 'rewound',
    });
    // A checkpoint forged without the key is refused outright.
    await expect(verify(db, org, { checkpoints: [{ ...checkpoint, seq: 2 }] })).rejects.toThrow(/not sealed/);

    // Erasing an organization's whole trail, head included, leaves nothing to compare inside the database.
    await behindTriggers(database.current, `delete from audit_logs where organization_id = '${org}'`);
    await raw.query(`delete from audit_chain_heads where organization_id = $1`, [org]);
    expect(await verify(db, org)).toMatchObject({ intact: true, checked: 0, head: { seq: 0 } });
    expect(broken(await verify(db, org, { checkpoints: [checkpoint] }))).toEqual({
      firstBrokenSeq: 1,
      reason: 'rewound',
    });
  });

  it('whoever holds the key can re-seal a rewrite: the key ring, not the database, is what the trail trusts', async () => {
    const { db } = database.current;
    const org = await newOrganization(db, 'su-keyholder');
    await record(db, org, 2);
    const [last] = await database.current.sql.query<{ prev_hash: Buffer; message: Buffer }>(
      `select prev_hash, app_audit_message(organization_id, seq, id, created_at, actor_type, actor_id, actor_label,
              'brand.deleted', target_type, target_id, request_id, ip, user_agent, changes) as message
       from audit_logs where organization_id = $1 and seq = 2`,
      [org],
    );
    const { mac } = sealWithRing(
      ring,
      'audit-chain',
      Buffer.concat([Buffer.from(last?.prev_hash ?? []), Buffer.from(last?.message ?? [])]),
    );
    await behindTriggers(
      database.current,
      `update audit_logs set action = 'brand.deleted', hash = '\\x${mac.toString('hex')}' where organization_id = '${org}' and seq = 2;
       update audit_chain_heads set hash = '\\x${mac.toString('hex')}' where organization_id = '${org}'`,
    );
    expect((await verify(db, org)).intact).toBe(true);
    // The public development ring makes every seal forgeable, and the report says so.
    const devRing = loadKeyRing({}, { developmentAllowed: true, warn: () => {} });
    expect((await withTenant(db, org, (tx) => verifyAuditChain(tx, devRing))).insecureKey).toBe(true);
  });

  it('a deleted middle row, a moved anchor and a row past the head are each named', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'su-middle');
    await record(db, org, 5);
    await behindTriggers(
      database.current,
      `delete from audit_logs where organization_id = '${org}' and seq = 2`,
    );
    expect(broken(await verify(db, org))).toEqual({ firstBrokenSeq: 2, reason: 'missing_rows' });

    const anchored = await newOrganization(db, 'su-anchor');
    await record(db, anchored, 3);
    await behindTriggers(
      database.current,
      `delete from audit_logs where organization_id = '${anchored}' and seq <= 2`,
    );
    await raw.query(
      `update audit_chain_heads h set anchor_seq = 2, anchor_hash = l.prev_hash, anchor_key_id = 'audit-2026', anchor_seal = '\\x00'
       from audit_logs l where h.organization_id = $1 and l.organization_id = $1 and l.seq = 3`,
      [anchored],
    );
    expect(broken(await verify(db, anchored))).toEqual({ firstBrokenSeq: 3, reason: 'bad_anchor' });

    const lagging = await newOrganization(db, 'su-lagging');
    await record(db, lagging, 3);
    await raw.query(`update audit_chain_heads set seq = 2 where organization_id = $1`, [lagging]);
    expect(broken(await verify(db, lagging))).toEqual({ firstBrokenSeq: 3, reason: 'head_mismatch' });
  });

  it('a wrapper installed in place of app_audit_message() after renaming it hides no edit, and is reported', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'su-wrapper');
    const honest = await newOrganization(db, 'su-wrapper-honest');
    await record(db, org, 4);
    await record(db, honest, 2);
    const undo = await wrapMessageFunction(raw, org, 2);
    let during: AuditChainReport;
    let honestDuring: AuditChainReport;
    try {
      await behindTriggers(
        database.current,
        `update audit_logs set target_id = 'forged' where organization_id = '${org}' and seq = 2`,
      );
      // Control: checked against the function's output, as the verifier once did, every seal passes.
      expect(await sealsPassThroughSqlMessage(raw, org)).toBe(true);
      during = await verify(db, org);
      // Appends go on meanwhile: they never ask the function what a row contains.
      await record(db, honest, 1);
      honestDuring = await verify(db, honest);
    } finally {
      await undo();
    }
    expect(broken(during)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
    expect(during.structural).toEqual([
      'function app_audit_message is not the one the migrations installed (body)',
    ]);
    expect(honestDuring).toMatchObject({ reason: null, checked: 3, intact: false });
    const after = await verify(db, org);
    expect(after.structural).toEqual([]);
    expect(broken(after)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
    expect(await verify(db, honest)).toMatchObject({ intact: true, checked: 3 });
  });

  it('a guard function replaced to let edits through, or a guard trigger re-pointed or made conditional, is reported', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'su-guards');
    await record(db, org, 2);
    const [original] = await raw.query<{ definition: string; trigger: string }>(
      `select pg_get_functiondef('public.app_refuse_change()'::regprocedure) as definition,
              pg_get_triggerdef(t.oid) as trigger
       from pg_trigger t where t.tgrelid = 'public.audit_logs'::regclass and t.tgname = 'audit_logs_refuse_update_delete'`,
    );
    if (!original) throw new Error('no guard trigger');
    // Nothing disabled: the guard itself now lets the edit through.
    await raw.exec(`create or replace function public.app_refuse_change() returns trigger language plpgsql
      set search_path = pg_catalog, public, pg_temp as $$ begin return coalesce(new, old); end $$`);
    let replaced: AuditChainReport;
    try {
      await raw.query(`update audit_logs set target_id = 'forged' where organization_id = $1 and seq = 1`, [
        org,
      ]);
      replaced = await verify(db, org);
    } finally {
      await raw.exec(original.definition);
    }
    expect(replaced.structural).toEqual([
      'function app_refuse_change is not the one the migrations installed (body)',
    ]);
    expect(broken(replaced)).toEqual({ firstBrokenSeq: 1, reason: 'altered' });

    const restore = `drop trigger audit_logs_refuse_update_delete on audit_logs; ${original.trigger}`;
    await raw.exec(`drop trigger audit_logs_refuse_update_delete on audit_logs;
      create trigger audit_logs_refuse_update_delete before update or delete on audit_logs
      for each row when (false) execute function suppress_redundant_updates_trigger()`);
    const repointed = await verify(db, org).finally(() => raw.exec(restore));
    console.log(
      `audit guard attacks: ${repointed.structural.length} findings for a re-pointed, conditional guard`,
    );
    expect(repointed.structural).toContain(
      'audit_logs: trigger audit_logs_refuse_update_delete runs another function than app_refuse_change, has a WHEN condition',
    );
    expect(
      repointed.structural.some((line) =>
        /^partition audit_logs_p\d{4}_\d{2}: trigger audit_logs_refuse_update_delete runs another function/.test(
          line,
        ),
      ),
    ).toBe(true);
    expect((await verify(db, org)).structural).toEqual([]);
  });

  it('reports disabled triggers and unforced row-level security on the trail as structural changes', async () => {
    const { db, sql: raw } = database.current;
    const org = await newOrganization(db, 'su-structure');
    await record(db, org, 1);
    await raw.exec(`alter table audit_logs disable trigger audit_logs_refuse_update_delete`);
    await raw.exec(`alter table audit_chain_heads no force row level security`);
    const report = await verify(db, org);
    await raw.exec(`alter table audit_logs enable trigger audit_logs_refuse_update_delete`);
    await raw.exec(`alter table audit_chain_heads force row level security`);
    console.log(
      `audit structural report: ${report.structural.length} findings, e.g. ${report.structural[0]}`,
    );
    expect(report.intact).toBe(false);
    expect(report.reason).toBeNull();
    expect(report.structural).toContain('audit_logs: trigger audit_logs_refuse_update_delete is disabled');
    expect(report.structural).toContain('audit_chain_heads: row-level security is not forced');
    expect(
      report.structural.some((line) =>
        /^partition audit_logs_p\d{4}_\d{2}: trigger audit_logs_refuse_update_delete is disabled$/.test(line),
      ),
    ).toBe(true);
    expect((await verify(db, org)).intact).toBe(true);
  });
});

describe('retention', () => {
  let retained: TestDatabase;
  beforeAll(async () => {
    retained = await openTestDatabase();
    const [owner] = await retained.db.insert(users).values({ email: 'ann@acme.example' }).returning();
    ownerUserId = owner?.id ?? '';
  });
  afterAll(async () => {
    await retained?.close();
  });

  it('drops whole months, leaves a sealed anchor, and the trail still verifies after it', async () => {
    const { db, sql: raw } = retained;
    const org = await newOrganization(db, 'retained');
    const untouched = await newOrganization(db, 'untouched');
    await record(db, org, 3);
    await raw.query(`select app_create_monthly_partition('audit_logs', (now() - interval '2 years')::date)`);
    // An old empty month goes, and nothing else.
    const old = await dropPartitionsBefore(db, 'audit_logs', new Date(Date.now() - 365 * 86_400_000), {
      ring,
    });
    expect(old).toHaveLength(1);
    expect((await verify(db, org)).checked).toBe(3);
    await expect(dropPartitionsBefore(db, 'audit_logs', new Date())).rejects.toThrow(/key ring/);

    // Retention up to next month takes the month holding the three rows.
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const dropped = await dropPartitionsBefore(db, 'audit_logs', nextMonth, { ring });
    console.log(`audit retention: dropped ${dropped.join(', ')}`);
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    expect(await verify(db, org)).toMatchObject({ intact: true, checked: 0, head: { seq: 3, anchorSeq: 3 } });
    await record(db, org, 2);
    expect(await verify(db, org)).toMatchObject({ intact: true, checked: 2, head: { seq: 5, anchorSeq: 3 } });
    expect(await verify(db, untouched)).toMatchObject({ intact: true, checked: 0, head: { seq: 0 } });

    // A partition dropped without retention's anchor is a gap: here the default one, holding 4 and 5.
    await raw.exec(`alter table audit_logs detach partition audit_logs_default`);
    const detached = await verify(db, org);
    expect(broken(detached)).toEqual({ firstBrokenSeq: 4, reason: 'missing_tail' });
    expect(detached.structural).toContain(
      'table audit_logs_default looks like a detached audit_logs partition',
    );
    await raw.exec(`drop table audit_logs_default`);
    const gone = await verify(db, org);
    expect(broken(gone)).toEqual({ firstBrokenSeq: 4, reason: 'missing_tail' });
    expect(gone.structural).toEqual([]);
  });
});

describe('the owner role (NOSUPERUSER) cannot rewrite the trail undetected', () => {
  // Roles are cluster-wide: PGlite runs one superuser, so only a server can show a NOSUPERUSER owner.
  const serverOnly = it.skipIf(!onServer);
  let owner: { handle: DbHandle; role: string } | undefined;
  let ownedDb: TestDatabase;

  beforeAll(async () => {
    if (!onServer || backend.kind !== 'server') return;
    ownedDb = await openTestDatabase();
    const role = `audit_owner_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const { sql: raw } = ownedDb;
    await raw.exec(
      `create role ${role} login nosuperuser nocreatedb nocreaterole nobypassrls password '${password}'`,
    );
    // As in a deploy: the migrating owner owns the trail's tables and is a member of neonhub_definer.
    await raw.exec(`grant neonhub_definer to ${role}; grant usage, create on schema public to ${role}`);
    const owned = await raw.query<{ name: string }>(
      `select c.oid::regclass::text as name from pg_class c
       where c.oid in ('audit_logs'::regclass, 'audit_chain_heads'::regclass)
          or c.oid in (select inhrelid from pg_inherits where inhparent = 'audit_logs'::regclass)`,
    );
    for (const { name } of owned) await raw.exec(`alter table ${name} owner to ${role}`);
    // The migrating owner also owns the trail's functions that no definer owns.
    await raw.exec(`alter function app_audit_message(${messageArgumentTypes}) owner to ${role}`);
    const url = new URL(ownedDb.url ?? adminUrlFor(backend.url, 'postgres'));
    url.username = role;
    url.password = password;
    owner = { handle: createDb({ url: url.toString(), max: 1 }), role };
    const [me] = await owner.handle.sql.query<{ superuser: boolean }>(
      `select rolsuper as superuser from pg_roles where rolname = current_user`,
    );
    expect(me?.superuser).toBe(false);
    const [user] = await ownedDb.db.insert(users).values({ email: 'ann@acme.example' }).returning();
    ownerUserId = user?.id ?? '';
  });
  afterAll(async () => {
    if (!owner) return;
    await owner.handle.close();
    await ownedDb.close();
    const admin = createDb({ url: backend.kind === 'server' ? backend.url : '', max: 1 });
    await admin.sql.exec(`drop role if exists ${owner.role}`);
    await admin.close();
  });

  serverOnly(
    'disabling the triggers to edit rows is refused no longer, but is reported and the edit found',
    async () => {
      const org = await newOrganization(ownedDb.db, 'owner-triggers');
      await record(ownedDb.db, org, 4);
      const raw = owner?.handle.sql;
      if (!raw) throw new Error('no owner session');
      // Positive control: forced row-level security hides the rows from the owner, and with it
      // lifted the append-only trigger still refuses the edit.
      const [hidden] = await raw.query<{ n: number }>(
        `with changed as (update audit_logs set action = 'brand.deleted' returning 1) select count(*)::int as n from changed`,
      );
      expect(hidden?.n).toBe(0);
      await raw.exec(`alter table audit_logs no force row level security`);
      await expect(raw.exec(`update audit_logs set action = 'brand.deleted'`)).rejects.toThrow(/append-only/);
      await raw.exec(`alter table audit_logs disable trigger user`);
      await raw.exec(
        `update audit_logs set target_id = 'forged' where organization_id = '${org}' and seq = 2`,
      );
      await raw.exec(
        `update audit_logs set hash = ${unkeyedSeal} where organization_id = '${org}' and seq = 2`,
      );
      const during = await verify(ownedDb.db, org);
      await raw.exec(`alter table audit_logs enable trigger user`);
      await raw.exec(`alter table audit_logs force row level security`);
      const after = await verify(ownedDb.db, org);
      console.log(
        `audit owner trigger attack: ${during.structural.length} structural findings while disabled`,
      );
      expect(broken(during)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
      expect(during.structural).toContain('audit_logs: trigger audit_logs_refuse_update_delete is disabled');
      expect(during.structural).toContain('audit_logs: row-level security is not forced');
      expect(after.structural).toEqual([]);
      expect(broken(after)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
    },
  );

  serverOnly(
    'a partition detached, rewritten and re-attached is caught while out and after it is back',
    async () => {
      const org = await newOrganization(ownedDb.db, 'owner-detach');
      await record(ownedDb.db, org, 3);
      const raw = owner?.handle.sql;
      if (!raw) throw new Error('no owner session');
      const [partition] = await ownedDb.sql.query<{ name: string; bound: string }>(
        `select l.tableoid::regclass::text as name, pg_get_expr(c.relpartbound, c.oid) as bound
       from audit_logs l join pg_class c on c.oid = l.tableoid where l.organization_id = $1 limit 1`,
        [org],
      );
      if (!partition) throw new Error('no partition');
      await raw.exec(`alter table audit_logs detach partition ${partition.name}`);
      const out = await verify(ownedDb.db, org);
      expect(out.structural).toContain(`table ${partition.name} looks like a detached audit_logs partition`);
      expect(out.reason).toBe('missing_tail');
      await raw.exec(`alter table ${partition.name} no force row level security`);
      await raw.exec(`alter table ${partition.name} disable row level security`);
      await raw.exec(
        `update ${partition.name} set action = 'brand.deleted' where organization_id = '${org}' and seq = 1`,
      );
      await raw.exec(`alter table ${partition.name} enable row level security, force row level security`);
      await raw.exec(`alter table audit_logs attach partition ${partition.name} ${partition.bound}`);
      const back = await verify(ownedDb.db, org);
      expect(back.structural).toEqual([]);
      expect(broken(back)).toEqual({ firstBrokenSeq: 1, reason: 'altered' });
    },
  );

  serverOnly(
    'cannot write the chain heads or anchors without being caught, nor drop a month unseen',
    async () => {
      const org = await newOrganization(ownedDb.db, 'owner-heads');
      await record(ownedDb.db, org, 2);
      const raw = owner?.handle.sql;
      if (!raw) throw new Error('no owner session');
      // A member of neonhub_definer, the owner can write the heads, but the chain no longer ends there.
      await raw.query(`update audit_chain_heads set seq = 99 where organization_id = $1`, [org]);
      expect(broken(await verify(ownedDb.db, org))).toEqual({ firstBrokenSeq: 3, reason: 'missing_tail' });
      await raw.query(`update audit_chain_heads set seq = 2 where organization_id = $1`, [org]);
      expect((await verify(ownedDb.db, org)).intact).toBe(true);
      // It can move the anchor too, but cannot seal it.
      await raw.query(`select app_audit_set_anchor($1, 1, '\\x00', 'audit-2026', '\\x00')`, [org]);
      expect(broken(await verify(ownedDb.db, org))).toEqual({ firstBrokenSeq: 2, reason: 'bad_anchor' });

      const dropped = await newOrganization(ownedDb.db, 'owner-drop');
      await record(ownedDb.db, dropped, 2);
      const [partition] = await ownedDb.sql.query<{ name: string }>(
        `select tableoid::regclass::text as name from audit_logs where organization_id = $1 limit 1`,
        [dropped],
      );
      await raw.exec(`drop table ${partition?.name}`);
      expect(broken(await verify(ownedDb.db, dropped))).toEqual({
        firstBrokenSeq: 1,
        reason: 'missing_tail',
      });
    },
  );

  serverOnly(
    'a wrapper installed in place of app_audit_message() after renaming it hides no edit, and is reported',
    async () => {
      const org = await newOrganization(ownedDb.db, 'owner-wrapper');
      const honest = await newOrganization(ownedDb.db, 'owner-wrapper-honest');
      await record(ownedDb.db, org, 4);
      await record(ownedDb.db, honest, 2);
      const raw = owner?.handle.sql;
      if (!raw) throw new Error('no owner session');
      // Forced row-level security hides the rows from the owner: lifted to read the bytes and edit.
      await raw.exec('alter table audit_logs no force row level security');
      const undo = await wrapMessageFunction(raw, org, 2);
      await raw.exec('alter table audit_logs disable trigger user');
      await raw.exec(
        `update audit_logs set target_id = 'forged' where organization_id = '${org}' and seq = 2`,
      );
      await raw.exec(
        'alter table audit_logs enable trigger user; alter table audit_logs force row level security',
      );
      // Control: checked against the function's output, as the verifier once did, every seal passes.
      expect(await sealsPassThroughSqlMessage(ownedDb.sql, org)).toBe(true);
      const during = await verify(ownedDb.db, org);
      const honestDuring = await verify(ownedDb.db, honest);
      await undo();
      const after = await verify(ownedDb.db, org);
      console.log(
        `audit owner wrapper attack: ${during.reason} at ${during.firstBrokenSeq}; structural: ${during.structural.join('; ')}`,
      );
      expect(broken(during)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
      expect(during.structural).toEqual([
        'function app_audit_message is not the one the migrations installed (body)',
      ]);
      expect(honestDuring).toMatchObject({ reason: null, checked: 2, intact: false });
      expect(after.structural).toEqual([]);
      expect(broken(after)).toEqual({ firstBrokenSeq: 2, reason: 'altered' });
      expect(await verify(ownedDb.db, honest)).toMatchObject({ intact: true, checked: 2 });
    },
  );
});
