import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import {
  abTests,
  abTestVariants,
  campaignMetrics,
  campaigns,
  contentItems,
  contentVersions,
  emailSequenceSteps,
  feedback,
  socialPosts,
} from '../src/schema/index.ts';
import { campaignSeedIds, SEED_METRIC_HOURS } from '../src/seed/campaigns.ts';
import { stableId } from '../src/seed/context.ts';
import { seedTenant } from '../src/seed/index.ts';
import {
  insertAbTestSchema,
  insertCampaignSchema,
  insertContentItemSchema,
  insertSocialPostSchema,
  metricPointSchema,
  runningAbTestWeightsSchema,
} from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { whereEquals } from './support/drizzle-line.ts';
import { failure } from './support/errors.ts';

const database = useTestDatabase();
const tenant = { slug: 'acme', name: 'Acme', ownerEmail: 'owner@acme.example', ownerName: 'Acme Owner' };
let orgId = '';
const ids = campaignSeedIds({
  organizationId: '',
  slug: tenant.slug,
  ownerUserId: '',
  memberUserIds: {},
  membershipIds: {},
  id: (...parts) => stableId(tenant.slug, ...parts),
  ring: undefined as never,
});

const campaignTables = [
  'content_items',
  'content_versions',
  'campaigns',
  'campaign_contents',
  'campaign_metrics',
  'email_sequences',
  'email_sequence_steps',
  'social_posts',
  'ab_tests',
  'ab_test_variants',
  'subscriptions',
  'invoices',
  'usage_records',
  'connectors',
  'tasks',
  'feedback',
];

beforeAll(async () => {
  const first = await seedTenant(database.current.db, tenant);
  orgId = first.organizationId;
  console.log('first seed run inserted', first.created);
});

describe('seed', () => {
  it('fills every table of the domain, 30 days of hourly metrics included, and a re-run inserts nothing', async () => {
    const { db } = database.current;
    const counts = await withTenant(db, orgId, async (tx) => {
      const out: Record<string, number> = {};
      for (const table of campaignTables) {
        const [row] = rowsOf<{ n: number }>(
          await tx.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`),
        );
        out[table] = row?.n ?? 0;
      }
      return out;
    });
    console.log('rows per table after seeding', counts);
    for (const table of campaignTables) expect(counts[table], table).toBeGreaterThan(0);
    expect(counts.campaign_metrics).toBe(SEED_METRIC_HOURS * 2 * 2);

    const again = await seedTenant(db, tenant);
    const nonZero = Object.entries(again.created).filter(([, n]) => n !== 0);
    expect(nonZero).toEqual([]);
  });

  it('keeps the seeded metrics in monthly partitions, not the default one', async () => {
    const rows = await database.current.sql.query<{ partition: string; month: string; n: number }>(
      `select tableoid::regclass::text as partition, to_char(bucket at time zone 'UTC', 'YYYY_MM') as month,
              count(*)::int as n
       from campaign_metrics group by 1, 2 order by 1`,
    );
    console.log('seeded metric rows per partition', rows);
    expect(rows.reduce((sum, row) => sum + row.n, 0)).toBeGreaterThanOrEqual(SEED_METRIC_HOURS * 2 * 2);
    // Each row in the partition of its bucket's month.
    expect(rows.filter((row) => row.partition !== `campaign_metrics_p${row.month}`)).toEqual([]);
  });
});

describe('content versions', () => {
  it('refuses UPDATE and DELETE of a version, and allows deleting the item with its versions', async () => {
    const { db } = database.current;
    const version = ids.version(ids.content.blog, 1);
    const update = await failure(
      withTenant(db, orgId, (tx) =>
        tx.update(contentVersions).set({ body: 'rewritten' }).where(eq(contentVersions.id, version)),
      ),
    );
    expect(update.kind).toBe('permission_denied');
    expect(update.table).toBe('content_versions');
    expect(update.message).toMatch(/UPDATE is refused/);
    const remove = await failure(
      withTenant(db, orgId, (tx) => tx.delete(contentVersions).where(eq(contentVersions.id, version))),
    );
    expect(remove.message).toMatch(/immutable: DELETE is refused/);

    // A throwaway item with two versions: deleting the item takes its versions along.
    const removed = await withTenant(db, orgId, async (tx) => {
      const [item] = await tx
        .insert(contentItems)
        .values({ brandId: ids.brand, kind: 'ad_copy', title: 'Throwaway' })
        .returning();
      if (!item) throw new Error('no item');
      await tx.insert(contentVersions).values([
        { contentItemId: item.id, version: 1, body: 'one' },
        { contentItemId: item.id, version: 2, body: 'two' },
      ]);
      await tx.delete(contentItems).where(eq(contentItems.id, item.id));
      return tx.select().from(contentVersions).where(eq(contentVersions.contentItemId, item.id));
    });
    expect(removed).toEqual([]);
  });

  it('numbers versions uniquely per item and keeps the current version inside its item', async () => {
    const { db } = database.current;
    const duplicate = await failure(
      withTenant(db, orgId, (tx) =>
        tx.insert(contentVersions).values({ contentItemId: ids.content.blog, version: 1, body: 'again' }),
      ),
    );
    expect(duplicate.constraint).toBe('content_versions_organization_id_content_item_id_version_key');

    const foreign = await failure(
      withTenant(db, orgId, (tx) =>
        tx
          .update(contentItems)
          .set({ currentVersionId: ids.version(ids.content.welcome, 1) })
          .where(eq(contentItems.id, ids.content.blog)),
      ),
    );
    expect(foreign.kind).toBe('foreign_key_violation');
    expect(foreign.constraint).toBe('content_items_current_version_fkey');
  });

  it('traces a version back to the brand voice that wrote it', async () => {
    const version = await withTenant(database.current.db, orgId, (tx) =>
      tx.query.contentVersions.findFirst({
        where: whereEquals(contentVersions, 'id', ids.version(ids.content.welcome, 2)),
        with: { brandVoice: true, contentItem: true, feedback: true },
      }),
    );
    expect(version?.brandVoice?.name).toBe('Playful launch voice');
    expect(version?.contentItem?.title).toBe('Welcome email');
    expect(version?.feedback).toHaveLength(1);
    const item = await withTenant(database.current.db, orgId, (tx) =>
      tx.query.contentItems.findFirst({
        where: whereEquals(contentItems, 'id', ids.content.blog),
        with: { currentVersion: true, versions: true, brand: true },
      }),
    );
    expect(item?.currentVersion?.version).toBe(2);
    expect(item?.versions.map((v: { version: number }) => v.version).sort()).toEqual([1, 2]);
    expect(item?.status).toBe('published');
  });
});

describe('campaigns', () => {
  it('refuses an end before the start, a budget without currency and a malformed currency', async () => {
    const { db } = database.current;
    const base = { brandId: ids.brand, name: 'Autumn' };
    const cases = [
      {
        values: {
          ...base,
          slug: 'autumn-1',
          startsAt: new Date('2026-09-10'),
          endsAt: new Date('2026-09-01'),
        },
        constraint: 'campaigns_dates_check',
      },
      { values: { ...base, slug: 'autumn-2', budget: '100.00' }, constraint: 'campaigns_budget_check' },
      {
        values: { ...base, slug: 'autumn-3', budget: '100.00', currency: 'eur' },
        constraint: 'campaigns_currency_check',
      },
      {
        values: { ...base, slug: 'autumn-4', status: 'active' as const },
        constraint: 'campaigns_status_check',
      },
      { values: { ...base, slug: 'Autumn 5' }, constraint: 'campaigns_slug_format_check' },
    ];
    for (const { values, constraint } of cases) {
      const error = await failure(withTenant(db, orgId, (tx) => tx.insert(campaigns).values(values)));
      expect(error.kind).toBe('check_violation');
      expect(error.constraint).toBe(constraint);
      // The validator refuses the same row.
      expect(insertCampaignSchema.safeParse(values).success, constraint).toBe(false);
    }
    const sameDay = new Date('2026-09-01T00:00:00Z');
    const ok = {
      ...base,
      slug: 'autumn-ok',
      startsAt: sameDay,
      endsAt: sameDay,
      budget: '0.00',
      currency: 'EUR',
    };
    expect(insertCampaignSchema.safeParse(ok).success).toBe(true);
    await withTenant(db, orgId, (tx) => tx.insert(campaigns).values(ok));
  });

  it('frees a slug when its campaign is soft-deleted', async () => {
    const { db } = database.current;
    const values = { brandId: ids.brand, name: 'Winter', slug: 'winter' };
    await withTenant(db, orgId, (tx) => tx.insert(campaigns).values(values));
    const duplicate = await failure(withTenant(db, orgId, (tx) => tx.insert(campaigns).values(values)));
    expect(duplicate.constraint).toBe('campaigns_organization_id_slug_key');
    await withTenant(db, orgId, async (tx) => {
      await tx.update(campaigns).set({ deletedAt: new Date() }).where(eq(campaigns.slug, 'winter'));
      await tx.insert(campaigns).values(values);
    });
  });

  it('stores money exactly', async () => {
    const [row] = await withTenant(database.current.db, orgId, (tx) =>
      tx.select({ budget: campaigns.budget }).from(campaigns).where(eq(campaigns.id, ids.campaign)),
    );
    expect(row?.budget).toBe('25000.00');
  });

  it('deletes a campaign with its metrics, sequences, posts and tests', async () => {
    const { db } = database.current;
    const removed = await withTenant(db, orgId, async (tx) => {
      const [campaign] = await tx
        .insert(campaigns)
        .values({ brandId: ids.brand, name: 'Short-lived', slug: 'short-lived' })
        .returning();
      if (!campaign) throw new Error('no campaign');
      await tx.insert(campaignMetrics).values({
        campaignId: campaign.id,
        channel: 'web',
        metric: 'visits',
        bucket: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000),
        value: '3',
      });
      await tx.delete(campaigns).where(eq(campaigns.id, campaign.id));
      return tx.select().from(campaignMetrics).where(eq(campaignMetrics.campaignId, campaign.id));
    });
    expect(removed).toEqual([]);
  });
});

describe('email, social', () => {
  it('numbers sequence steps uniquely and keeps content a step sends', async () => {
    const { db } = database.current;
    const duplicate = await failure(
      withTenant(db, orgId, (tx) =>
        tx.insert(emailSequenceSteps).values({
          sequenceId: ids.emailSequence,
          ordinal: 1,
          subject: 'Again',
          contentItemId: ids.content.tips,
        }),
      ),
    );
    expect(duplicate.constraint).toBe('email_sequence_steps_organization_id_sequence_id_ordinal_key');
    const inUse = await failure(
      withTenant(db, orgId, (tx) => tx.delete(contentItems).where(eq(contentItems.id, ids.content.tips))),
    );
    expect(inUse.kind).toBe('foreign_key_violation');
    expect(inUse.constraint).toBe('email_sequence_steps_content_item_id_fkey');
  });

  it('keeps external ids unique per organization and platform, and status sane', async () => {
    const { db } = database.current;
    const [published] = await withTenant(db, orgId, (tx) =>
      tx.select().from(socialPosts).where(eq(socialPosts.platform, 'linkedin')),
    );
    const again = {
      contentItemId: ids.content.teaser,
      platform: 'linkedin' as const,
      status: 'published' as const,
      publishedAt: new Date(),
      externalId: published?.externalId,
    };
    const duplicate = await failure(withTenant(db, orgId, (tx) => tx.insert(socialPosts).values(again)));
    expect(duplicate.constraint).toBe('social_posts_organization_id_platform_external_id_key');
    // The same id on another platform is another post.
    await withTenant(db, orgId, (tx) => tx.insert(socialPosts).values({ ...again, platform: 'facebook' }));

    const unscheduled = {
      contentItemId: ids.content.teaser,
      platform: 'x' as const,
      status: 'scheduled' as const,
    };
    const error = await failure(withTenant(db, orgId, (tx) => tx.insert(socialPosts).values(unscheduled)));
    expect(error.constraint).toBe('social_posts_scheduled_check');
    expect(insertSocialPostSchema.safeParse(unscheduled).success).toBe(false);
  });
});

describe('A/B tests', () => {
  type Tx = Parameters<Parameters<typeof withTenant>[2]>[0];
  async function newTest(status: 'draft' | 'running', weights: number[]) {
    return withTenant(database.current.db, orgId, async (tx) => {
      const [test] = await tx
        .insert(abTests)
        .values({
          campaignId: ids.campaign,
          name: `test ${Math.random()}`,
          goalMetric: 'clicks',
          status,
          variantWeights: Object.fromEntries(weights.map((weight, i) => [`v${i}`, weight])),
          startedAt: status === 'running' ? new Date() : null,
        })
        .returning();
      if (!test) throw new Error('no test');
      if (weights.length > 0) {
        await tx.insert(abTestVariants).values(weights.map((_, i) => ({ abTestId: test.id, key: `v${i}` })));
      }
      return test.id;
    });
  }

  it('refuses to start a test whose weights do not add up to 100', async () => {
    const error = await failure(newTest('running', [60, 50]));
    expect(error.kind).toBe('check_violation');
    expect(error.constraint).toBe('ab_tests_weights_check');
    const single = await failure(newTest('running', [100]));
    expect(single.constraint).toBe('ab_tests_weights_check');
    // Nothing of the refused transactions stayed.
    const tests = await withTenant(database.current.db, orgId, (tx) => tx.select().from(abTests));
    expect(tests).toHaveLength(1);
  });

  it('lets a draft hold any weights, and refuses starting it until they add up', async () => {
    const { db } = database.current;
    const id = await newTest('draft', [30, 30]);
    const start = (tx: Tx) =>
      tx.update(abTests).set({ status: 'running', startedAt: new Date() }).where(eq(abTests.id, id));
    const error = await failure(withTenant(db, orgId, start));
    expect(error.constraint).toBe('ab_tests_weights_check');
    // Rebalancing and starting in one transaction passes.
    await withTenant(db, orgId, async (tx) => {
      await tx
        .update(abTests)
        .set({ variantWeights: { v0: 70, v1: 30 } })
        .where(eq(abTests.id, id));
      await start(tx);
    });
  });

  it('keeps a running test at 100 when its split changes', async () => {
    const { db } = database.current;
    const running = ids.abTest;
    const split = (variantWeights: Record<string, number>) => (tx: Tx) =>
      tx.update(abTests).set({ variantWeights }).where(eq(abTests.id, running));
    const unready: Record<string, number>[] = [{ A: 40, B: 40 }, { A: 100 }, { A: 50, B: 50, C: 10 }, {}];
    for (const weights of unready) {
      const error = await failure(withTenant(db, orgId, split(weights)));
      expect(error.constraint, JSON.stringify(weights)).toBe('ab_tests_weights_check');
    }
    // Malformed splits are refused whatever the status.
    const malformed: Record<string, number>[] = [
      { A: 101, B: -1 },
      { A: 50.5, B: 49.5 },
      { 'not a key': 50, B: 50 },
    ];
    for (const weights of malformed) {
      const error = await failure(withTenant(db, orgId, split(weights)));
      expect(error.constraint, JSON.stringify(weights)).toBe('ab_tests_variant_weights_check');
    }
    // A three-way split that adds up is fine.
    await withTenant(db, orgId, async (tx) => {
      await split({ A: 35, B: 35, C: 30 })(tx);
      await tx.insert(abTestVariants).values({ abTestId: running, key: 'C' });
    });
    const [test] = await withTenant(db, orgId, (tx) =>
      tx.select({ weights: abTests.variantWeights }).from(abTests).where(eq(abTests.id, running)),
    );
    expect(test?.weights).toEqual({ A: 35, B: 35, C: 30 });
  });

  it('validates the same rules in Zod', () => {
    expect(runningAbTestWeightsSchema.safeParse({ A: 50, B: 50 }).success).toBe(true);
    expect(runningAbTestWeightsSchema.safeParse({ A: 60, B: 50 }).success).toBe(false);
    expect(runningAbTestWeightsSchema.safeParse({ A: 100 }).success).toBe(false);
    const running = { campaignId: ids.campaign, name: 'x', goalMetric: 'clicks', status: 'running' as const };
    expect(
      insertAbTestSchema.safeParse({ ...running, startedAt: new Date(), variantWeights: { A: 90 } }).success,
    ).toBe(false);
    expect(
      insertAbTestSchema.safeParse({ ...running, startedAt: new Date(), variantWeights: { A: 90, B: 10 } })
        .success,
    ).toBe(true);
    const started = new Date('2026-05-02');
    expect(
      insertAbTestSchema.safeParse({
        campaignId: ids.campaign,
        name: 'x',
        goalMetric: 'clicks',
        startedAt: started,
        endedAt: new Date('2026-05-01'),
      }).success,
    ).toBe(false);
    expect(
      insertAbTestSchema.safeParse({ campaignId: ids.campaign, name: 'x', goalMetric: 'Clicks!' }).success,
    ).toBe(false);
  });
});

describe('validators', () => {
  it('agree with the database on content and metric points', async () => {
    const published = {
      brandId: ids.brand,
      kind: 'blog_post' as const,
      title: 'Now',
      status: 'published' as const,
    };
    expect(insertContentItemSchema.safeParse(published).success).toBe(false);
    const error = await failure(
      withTenant(database.current.db, orgId, (tx) => tx.insert(contentItems).values(published)),
    );
    expect(error.constraint).toBe('content_items_published_check');

    const point = {
      campaignId: ids.campaign,
      channel: 'email' as const,
      metric: 'clicks',
      bucket: new Date('2026-05-01T10:00:00Z'),
      value: 3,
    };
    expect(metricPointSchema.safeParse(point).success).toBe(true);
    expect(metricPointSchema.safeParse({ ...point, bucket: new Date('2026-05-01T10:30:00Z') }).success).toBe(
      false,
    );
    expect(metricPointSchema.safeParse({ ...point, value: -1 }).success).toBe(false);
    expect(metricPointSchema.safeParse({ ...point, metric: 'Click Rate' }).success).toBe(false);
  });

  it('refuses feedback on two targets in both places', async () => {
    const error = await failure(
      withTenant(database.current.db, orgId, (tx) =>
        tx.insert(feedback).values({
          contentVersionId: ids.version(ids.content.blog, 1),
          agentRunId: stableId('some run'),
          rating: 5,
        }),
      ),
    );
    expect(error.constraint).toBe('feedback_target_check');
  });
});
