// Database refusals come out typed: a specific kind, the table, the column the constraint is about,
// and the parent's names for partitions; inside tenant scopes and outside them (global tables).

import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { toDatabaseError } from '../src/base/database-errors.ts';
import { DatabaseError } from '../src/base/errors.ts';
import { withTenant } from '../src/client/tenant.ts';
import { registerEmbeddingSpace } from '../src/rag/embedding-spaces.ts';
import {
  brands,
  brandVoices,
  campaignMetrics,
  campaigns,
  embeddingSpaces,
  users,
} from '../src/schema/index.ts';
import { insertEmbeddingSpaceSchema } from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();
let acme = '';
let ownerEmail = '';

beforeAll(async () => {
  const seeded = await seedAcmeAndGlobex(database.current.db);
  acme = seeded.acme.organizationId;
  const [owner] = await database.current.db
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, seeded.acme.ownerUserId));
  ownerEmail = owner?.email ?? '';
});

/** The typed error raw SQL ends with (selects need no table, so kinds are tested on their own). */
const refusal = async (statement: ReturnType<typeof sql>) => {
  const error = await failure(() => database.current.db.execute(statement));
  expect(error).toBeInstanceOf(DatabaseError);
  return error as DatabaseError;
};

describe('database refusals', () => {
  it('a foreign key names its column, not the tenant key', async () => {
    const error = await failure(
      withTenant(database.current.db, acme, async (tx) => {
        await tx.insert(brandVoices).values({
          organizationId: acme,
          brandId: randomUUID(),
          name: 'Ghost',
          promptTemplate: 'x',
          styleRules: { tone: [], do: [], dont: [], preferredVocabulary: [], bannedVocabulary: [] },
        });
      }),
    );
    expect(error).toMatchObject({ kind: 'foreign_key_violation', table: 'brand_voices', column: 'brand_id' });
    expect(error.message).toMatch(/column brand_id/);
  });

  it('a unique key names its column, and a format check the column it starts with', async () => {
    const unique = await failure(
      withTenant(database.current.db, acme, async (tx) => {
        const [brand] = await tx.select().from(brands).where(eq(brands.organizationId, acme)).limit(1);
        await tx.insert(brands).values({ organizationId: acme, slug: brand?.slug ?? '', name: 'Twin' });
      }),
    );
    expect(unique).toMatchObject({
      kind: 'unique_violation',
      table: 'brands',
      column: 'slug',
      constraint: 'brands_organization_id_slug_key',
    });
    const check = await failure(
      withTenant(database.current.db, acme, (tx) =>
        tx.insert(brands).values({ organizationId: acme, slug: 'Not A Slug', name: 'Bad' }),
      ),
    );
    expect(check).toMatchObject({
      kind: 'check_violation',
      table: 'brands',
      column: 'slug',
      constraint: 'brands_slug_format_check',
    });
  });

  it('outside any scope, a global table names its column too', async () => {
    const error = toDatabaseError(
      await database.current.db
        .insert(users)
        .values({ email: ownerEmail.toUpperCase() })
        .catch((caught: unknown) => caught),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      kind: 'unique_violation',
      table: 'users',
      column: 'email',
      constraint: 'users_email_key',
    });
  });

  it('an embedding space name longer than its limit is refused naming the column (global table)', async () => {
    const { db } = database.current;
    // Straight to the table, past the package's validator: the database's refusal is typed.
    const tooLong = await failure(
      db
        .insert(embeddingSpaces)
        .values({ provider: 'p', model: 'm'.repeat(201), dimensions: 8, distance: 'cosine' }),
    );
    expect(tooLong).toMatchObject({
      kind: 'check_violation',
      table: 'embedding_spaces',
      column: 'model',
      constraint: 'embedding_spaces_model_length_check',
    });
    const provider = await failure(
      db
        .insert(embeddingSpaces)
        .values({ provider: 'p'.repeat(101), model: 'm', dimensions: 8, distance: 'cosine' }),
    );
    expect(provider).toMatchObject({
      column: 'provider',
      constraint: 'embedding_spaces_provider_length_check',
    });
    // Through the API, the validator refuses first and names the same column.
    expect(
      await failure(registerEmbeddingSpace(db, { provider: 'p', model: 'm'.repeat(201), dimensions: 8 })),
    ).toMatchObject({ table: 'embedding_spaces', column: 'model' });
    // Positive control: at the limits it registers.
    const space = await registerEmbeddingSpace(db, {
      provider: 'p'.repeat(100),
      model: 'm'.repeat(200),
      dimensions: 8,
    });
    expect(space.model).toHaveLength(200);
    expect(
      insertEmbeddingSpaceSchema.safeParse({ provider: 'p', model: 'm'.repeat(201), dimensions: 8 }).success,
    ).toBe(false);
  });

  it('a partition is reported as its parent table, with the parent constraint', async () => {
    const error = await failure(
      withTenant(database.current.db, acme, async (tx) => {
        const [campaign] = await tx
          .select({ id: campaigns.id })
          .from(campaigns)
          .where(eq(campaigns.organizationId, acme))
          .limit(1);
        const point = {
          organizationId: acme,
          campaignId: campaign?.id ?? '',
          channel: 'email' as const,
          metric: 'duplicate_probe',
          bucket: new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)),
          value: '1',
        };
        await tx.insert(campaignMetrics).values(point);
        await tx.insert(campaignMetrics).values(point);
      }),
    );
    const pg = (error as DatabaseError).cause as { cause?: { table_name?: string; table?: string } };
    const raw = pg.cause?.table_name ?? pg.cause?.table;
    console.log(`partition ${raw} reported as ${error.table}, constraint ${error.constraint}`);
    expect(raw).toMatch(/^campaign_metrics_(p\d{4}_\d{2}|default)$/);
    expect(error).toMatchObject({
      kind: 'unique_violation',
      table: 'campaign_metrics',
      constraint: 'campaign_metrics_point_key',
      column: 'campaign_id',
    });
    expect(error.message).not.toMatch(/_p\d{4}_\d{2}/);
  });

  it('a partition primary key PostgreSQL names after the partition maps to the parent one', () => {
    const error = toDatabaseError({
      code: '23505',
      message: 'duplicate key value violates unique constraint "audit_logs_p2026_11_pkey"',
      detail: 'Key (organization_id, created_at, id)=(…) already exists.',
      table_name: 'audit_logs_p2026_11',
      constraint_name: 'audit_logs_p2026_11_pkey',
    });
    expect(error).toMatchObject({
      table: 'audit_logs',
      constraint: 'audit_logs_pkey',
      columns: ['created_at', 'id'],
    });
    expect((error as Error).message).toMatch(/"audit_logs_pkey"/);
  });

  it('each kind of bad value has its own kind', async () => {
    const nul = await failure(
      withTenant(database.current.db, acme, (tx) =>
        tx.insert(brands).values({ organizationId: acme, slug: 'nul-probe', name: 'a\u0000b' }),
      ),
    );
    expect(nul.kind).toBe('invalid_text');
    expect((await refusal(sql`select ${'"\\ud800"'}::text::jsonb`)).kind).toBe('invalid_text');
    expect((await refusal(sql`select ${'1e-50'}::real`)).kind).toBe('out_of_range');
    expect((await refusal(sql`select ${'294277-01-01'}::timestamptz`)).kind).toBe('out_of_range');
    expect((await refusal(sql`select ${'not a uuid'}::uuid`)).kind).toBe('invalid_input');
    const tooLarge = await refusal(
      sql`select to_tsvector('simple', string_agg(md5(i::text), ' ')) from generate_series(1, 40000) i`,
    );
    expect(tooLarge.kind).toBe('too_large');
  });
});

describe('a Citus worker connection lost under a cached one', () => {
  it('is unavailable and retryable; another internal error is not', () => {
    const lost = toDatabaseError({
      code: 'XX000',
      message: 'failure on connection marked as essential: 127.0.0.1:9702',
    });
    const remote = toDatabaseError({
      code: 'XX000',
      message:
        'connection to the remote node neonhub_app@10.0.0.2:5432 failed with the following error: server closed the connection unexpectedly',
    });
    const internal = toDatabaseError({ code: 'XX000', message: 'could not find block containing chunk' });
    expect(
      [lost, remote, internal].map((error) => [
        (error as DatabaseError).kind,
        (error as DatabaseError).retryable,
      ]),
    ).toEqual([
      ['unavailable', true],
      ['unavailable', true],
      ['other', false],
    ]);
  });
});
