import { and, eq, isNull, sql } from 'drizzle-orm';
import { rowsOf } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { type MetricPoint, upsertMetricPoints } from '../domains/metrics.ts';
import {
  abTests,
  abTestVariants,
  campaignContents,
  campaignMetrics,
  campaigns,
  contentItems,
  contentVersions,
  emailSequenceSteps,
  emailSequences,
  socialPosts,
} from '../schema/index.ts';
import { brandSeedIds } from './brand.ts';
import { type DomainSeed, insertNew, type SeedContext, type SeedCounts } from './context.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Hours of metric history the seed writes: the last 30 days, what a campaign dashboard opens on. */
export const SEED_METRIC_HOURS = 30 * 24;
export const seedMetricNames = ['impressions', 'clicks'] as const;
export const seedMetricChannels = ['email', 'social'] as const;

/** The fixed ids of this domain's seed rows, shared with the seeds that reference them. */
export function campaignSeedIds(ctx: SeedContext) {
  return {
    // The brand domain's seed writes these; content and campaigns build on them.
    brand: brandSeedIds(ctx).brand,
    brandVoice: brandSeedIds(ctx).playfulVoice,
    campaign: ctx.id('campaign', 'spring-launch'),
    content: {
      blog: ctx.id('content', 'launch-blog'),
      welcome: ctx.id('content', 'welcome-email'),
      tips: ctx.id('content', 'tips-email'),
      teaser: ctx.id('content', 'social-teaser'),
    },
    version: (content: string, version: number) => ctx.id('content-version', content, String(version)),
    emailSequence: ctx.id('email-sequence', 'welcome'),
    abTest: ctx.id('ab-test', 'welcome-subject'),
  };
}

/** The start of the current UTC hour: the end of the seeded metric history. */
function currentHour(): Date {
  return new Date(Math.floor(Date.now() / HOUR) * HOUR);
}

/** Deterministic, plausible hourly figures: a daily rhythm, a weekly one and slow growth. */
function impressionsAt(hourIndex: number, channel: string): number {
  const hourOfDay = hourIndex % 24;
  const daily = 0.4 + 0.6 * Math.sin((Math.PI * Math.max(0, hourOfDay - 6)) / 16) ** 2;
  const weekly = Math.floor(hourIndex / 24) % 7 < 5 ? 1 : 0.6;
  const growth = 1 + hourIndex / SEED_METRIC_HOURS;
  return Math.round((channel === 'email' ? 120 : 300) * daily * weekly * growth);
}

export const campaignsSeed: DomainSeed = {
  name: 'campaigns',
  // Metric partitions covering the seeded history (the schema owner creates partitions).
  global: async (db) => {
    const [row] = rowsOf<{ created: number }>(
      await db.execute(sql`select app_ensure_monthly_partitions('campaign_metrics', 4, 3) as created`),
    );
    return { campaign_metrics_partitions: Number(row?.created ?? 0) };
  },
  tenant: async (tx, ctx) => {
    const ids = campaignSeedIds(ctx);
    const org = currentTenant(tx);
    const now = currentHour();
    const counts: SeedCounts = {};
    const items = [
      { id: ids.content.blog, kind: 'blog_post' as const, title: 'Spring launch: what is new' },
      { id: ids.content.welcome, kind: 'email' as const, title: 'Welcome email' },
      { id: ids.content.tips, kind: 'email' as const, title: 'Three tips for your first week' },
      { id: ids.content.teaser, kind: 'social_post' as const, title: 'Launch teaser' },
    ];
    counts.content_items = await insertNew(
      tx,
      contentItems,
      items.map((item) => ({ ...item, brandId: ids.brand, metadata: { locale: 'en-US', tags: ['launch'] } })),
    );
    counts.content_versions = await insertNew(
      tx,
      contentVersions,
      items.flatMap((item) =>
        [1, 2].map((version) => ({
          id: ids.version(item.id, version),
          contentItemId: item.id,
          version,
          headline: version === 1 ? item.title : `${item.title} (revised)`,
          body: `${item.title}, draft ${version}. Spring is here, and so is the launch your team asked for.`,
          brandVoiceId: ids.brandVoice,
          notes: version === 1 ? 'first draft' : 'tightened after review',
        })),
      ),
    );
    // Point every item at its newest version and publish the blog post (first run only).
    for (const item of items) {
      const published = item.id === ids.content.blog;
      await tx
        .update(contentItems)
        .set({
          currentVersionId: ids.version(item.id, 2),
          status: published ? 'published' : 'approved',
          publishedAt: published ? new Date(now.getTime() - 30 * DAY) : null,
        })
        .where(
          and(
            eq(contentItems.organizationId, org),
            eq(contentItems.id, item.id),
            isNull(contentItems.currentVersionId),
          ),
        );
    }

    counts.campaigns = await insertNew(tx, campaigns, [
      {
        id: ids.campaign,
        brandId: ids.brand,
        slug: 'spring-launch',
        name: 'Spring launch',
        status: 'active',
        objective: 'Drive 2,000 trial sign-ups before the end of the quarter',
        budget: '25000.00',
        currency: 'EUR',
        startsAt: new Date(now.getTime() - SEED_METRIC_HOURS * HOUR),
        endsAt: new Date(now.getTime() + 30 * DAY),
        channels: ['email', 'social'],
      },
    ]);
    counts.campaign_contents = await insertNew(
      tx,
      campaignContents,
      items.map((item, position) => ({
        id: ctx.id('campaign-content', item.id),
        campaignId: ids.campaign,
        contentItemId: item.id,
        channel:
          item.kind === 'social_post'
            ? ('social' as const)
            : item.kind === 'email'
              ? ('email' as const)
              : ('web' as const),
        position,
      })),
    );

    // 30 days of hourly points, written once: later runs find the history and leave it.
    const [existing] = await tx
      .select({ id: campaignMetrics.id })
      .from(campaignMetrics)
      .where(and(eq(campaignMetrics.organizationId, org), eq(campaignMetrics.campaignId, ids.campaign)))
      .limit(1);
    counts.campaign_metrics = 0;
    if (!existing) {
      const first = now.getTime() - SEED_METRIC_HOURS * HOUR;
      const points: MetricPoint[] = [];
      for (let hour = 0; hour < SEED_METRIC_HOURS; hour++) {
        for (const channel of seedMetricChannels) {
          const impressions = impressionsAt(hour, channel);
          const bucket = new Date(first + hour * HOUR);
          points.push({
            campaignId: ids.campaign,
            channel,
            metric: 'impressions',
            bucket,
            value: impressions,
          });
          points.push({
            campaignId: ids.campaign,
            channel,
            metric: 'clicks',
            bucket,
            value: Math.round(impressions * (channel === 'email' ? 0.045 : 0.012)),
          });
        }
      }
      counts.campaign_metrics = (await upsertMetricPoints(tx, points)).inserted;
    }

    counts.email_sequences = await insertNew(tx, emailSequences, [
      {
        id: ids.emailSequence,
        campaignId: ids.campaign,
        name: 'Welcome series',
        status: 'active',
        trigger: { event: 'signup' },
        fromName: 'Campaign Studio',
        fromEmail: 'hello@campaign-studio.example',
      },
    ]);
    counts.email_sequence_steps = await insertNew(tx, emailSequenceSteps, [
      {
        id: ctx.id('email-step', 'welcome', '1'),
        sequenceId: ids.emailSequence,
        ordinal: 1,
        delayMinutes: 0,
        subject: 'Welcome to Campaign Studio',
        contentItemId: ids.content.welcome,
      },
      {
        id: ctx.id('email-step', 'welcome', '2'),
        sequenceId: ids.emailSequence,
        ordinal: 2,
        delayMinutes: 2 * 24 * 60,
        subject: 'Three tips for your first week',
        contentItemId: ids.content.tips,
      },
    ]);
    counts.social_posts = await insertNew(tx, socialPosts, [
      {
        id: ctx.id('social-post', 'linkedin-teaser'),
        campaignId: ids.campaign,
        contentItemId: ids.content.teaser,
        platform: 'linkedin',
        status: 'published',
        scheduledAt: new Date(now.getTime() - 20 * DAY),
        publishedAt: new Date(now.getTime() - 20 * DAY),
        externalId: `urn:li:share:${ctx.slug}-teaser`,
        externalUrl: 'https://www.linkedin.com/feed/',
      },
      {
        id: ctx.id('social-post', 'x-teaser'),
        campaignId: ids.campaign,
        contentItemId: ids.content.teaser,
        platform: 'x',
        status: 'scheduled',
        scheduledAt: new Date(now.getTime() + 2 * DAY),
      },
    ]);
    // A running test names its split on its own row (ab_tests_weights_check); variants attach content.
    counts.ab_tests = await insertNew(tx, abTests, [
      {
        id: ids.abTest,
        campaignId: ids.campaign,
        name: 'Welcome subject line',
        hypothesis: 'A concrete subject line lifts clicks',
        status: 'running',
        goalMetric: 'clicks',
        variantWeights: { A: 50, B: 50 },
        startedAt: new Date(now.getTime() - 14 * DAY),
      },
    ]);
    counts.ab_test_variants = await insertNew(tx, abTestVariants, [
      {
        id: ctx.id('ab-variant', 'welcome-subject', 'A'),
        abTestId: ids.abTest,
        key: 'A',
        contentVersionId: ids.version(ids.content.welcome, 1),
      },
      {
        id: ctx.id('ab-variant', 'welcome-subject', 'B'),
        abTestId: ids.abTest,
        key: 'B',
        contentVersionId: ids.version(ids.content.welcome, 2),
      },
    ]);
    return counts;
  },
};
