import { sql } from 'drizzle-orm';
import {
  char,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { brands } from './brand.ts';
import { id, lengthCheck, liveRows, softDelete, tenantPolicy, timestamps } from './columns.ts';
import { contentItems, contentVersions } from './content.ts';
import { abTestStatus, campaignStatus, channel } from './enums.ts';
import { organizations } from './organizations.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

/** Metric names and goal metrics: `impressions`, `clicks`, `spend`, ... (also the validators' pattern). */
export const metricNamePattern = '^[a-z][a-z0-9_]{0,62}$';

// ---------------------------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------------------------

export const campaigns = tenantTable(
  'campaigns',
  {
    brandId: uuid('brand_id').notNull(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    status: campaignStatus('status').notNull().default('draft'),
    /** What the campaign is for, in a sentence ("Drive 2,000 trial sign-ups in Q3"). */
    objective: text('objective'),
    /** Total budget in `currency`; null when the campaign has none. */
    budget: numeric('budget', { precision: 14, scale: 2 }),
    /** ISO 4217 code of `budget`. */
    currency: char('currency', { length: 3 }),
    startsAt: timestamp('starts_at', { withTimezone: true }),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    channels: channel('channels').array().notNull().default(sql`'{}'::channel[]`),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    ...tenantReference('campaigns', t, t.brandId, brands),
    // Slugs are unique per organization among live campaigns, so a deleted one frees its slug.
    uniqueIndex('campaigns_organization_id_slug_key').on(t.organizationId, t.slug).where(liveRows),
    // The campaign board: live campaigns by status and start.
    index('campaigns_organization_id_status_starts_at_idx')
      .on(t.organizationId, t.status, t.startsAt)
      .where(liveRows),
    check('campaigns_slug_format_check', sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'`),
    check('campaigns_name_check', sql`length(btrim(${t.name})) between 1 and 200`),
    check(
      'campaigns_dates_check',
      sql`${t.endsAt} is null or ${t.startsAt} is null or ${t.endsAt} >= ${t.startsAt}`,
    ),
    check(
      'campaigns_budget_check',
      sql`${t.budget} is null or (${t.budget} >= 0 and ${t.currency} is not null)`,
    ),
    check('campaigns_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    // A campaign that is scheduled, running or done has a start.
    check(
      'campaigns_status_check',
      sql`${t.status} not in ('scheduled', 'active', 'completed') or ${t.startsAt} is not null`,
    ),
  ],
);

export type Campaign = typeof campaigns.$inferSelect;
export type NewCampaign = typeof campaigns.$inferInsert;

/** Which content a campaign uses, on which channel. */
export const campaignContents = tenantTable(
  'campaign_contents',
  {
    campaignId: uuid('campaign_id').notNull(),
    contentItemId: uuid('content_item_id').notNull(),
    channel: channel('channel'),
    /** Order of the content in the campaign plan. */
    position: integer('position').notNull().default(0),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('campaign_contents', t, t.campaignId, campaigns),
    ...tenantReference('campaign_contents', t, t.contentItemId, contentItems),
    unique('campaign_contents_organization_id_campaign_id_content_item_id_key').on(
      t.organizationId,
      t.campaignId,
      t.contentItemId,
    ),
    check('campaign_contents_position_check', sql`${t.position} >= 0`),
  ],
);

export type CampaignContent = typeof campaignContents.$inferSelect;
export type NewCampaignContent = typeof campaignContents.$inferInsert;

/** Breakdown of a point (`{ "country": "DE", "device": "mobile" }`); not part of its identity. */
export type MetricDimensions = Record<string, string | number | boolean>;

/**
 * Campaign performance, one row per (campaign, content, channel, metric, hour) so late events
 * upsert the same row. Partitioned by month on `bucket` (custom migration); retention drops whole
 * partitions. Not a `tenantTable`: a partitioned table's keys must include the partition key.
 */
export const campaignMetrics = pgTable(
  'campaign_metrics',
  {
    id: id(),
    organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
    campaignId: uuid('campaign_id').notNull(),
    /** The content the point is about; null for campaign-level figures (null is one key value). */
    contentItemId: uuid('content_item_id'),
    channel: channel('channel').notNull(),
    metric: text('metric').notNull(),
    /** Start of the hour the value covers (a whole UTC hour). */
    bucket: timestamp('bucket', { withTimezone: true }).notNull(),
    value: numeric('value', { precision: 20, scale: 4 }).notNull(),
    dimensions: jsonb('dimensions').$type<MetricDimensions>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    // The partition key has to be part of the primary key of a partitioned table.
    primaryKey({ name: 'campaign_metrics_pkey', columns: [t.organizationId, t.bucket, t.id] }),
    // The upsert key. Its order serves a campaign's series for one metric over a window
    // (equality on organization, campaign, metric; range on bucket) and its channel totals.
    unique('campaign_metrics_point_key')
      .on(t.organizationId, t.campaignId, t.metric, t.bucket, t.channel, t.contentItemId)
      .nullsNotDistinct(),
    // Written by hand rather than with tenantReference: the point key above starts with these
    // columns and indexes the reference, so a second index on a big table is spared.
    foreignKey({
      name: 'campaign_metrics_campaign_id_fkey',
      columns: [t.organizationId, t.campaignId],
      foreignColumns: [campaigns.organizationId, campaigns.id],
    }).onDelete('cascade'),
    ...tenantReference('campaign_metrics', t, t.contentItemId, contentItems),
    foreignKey({
      name: 'campaign_metrics_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    check('campaign_metrics_metric_format_check', sql`${t.metric} ~ '^[a-z][a-z0-9_]{0,62}$'`),
    check('campaign_metrics_value_check', sql`${t.value} >= 0`),
    // Whole hours only, whatever the session time zone.
    check('campaign_metrics_bucket_hour_check', sql`extract(epoch from ${t.bucket}) % 3600 = 0`),
    tenantPolicy('campaign_metrics'),
  ],
).enableRLS();

export type CampaignMetric = typeof campaignMetrics.$inferSelect;
export type NewCampaignMetric = typeof campaignMetrics.$inferInsert;

// ---------------------------------------------------------------------------------------------
// A/B tests
// ---------------------------------------------------------------------------------------------

/**
 * An experiment inside a campaign. While it is `running` its split (`variant_weights`) names at
 * least two variants whose weights add up to 100 (`ab_tests_weights_check`); a rebalance sets the
 * whole map in one update.
 */
export const abTests = tenantTable(
  'ab_tests',
  {
    campaignId: uuid('campaign_id').notNull(),
    name: text('name').notNull(),
    hypothesis: text('hypothesis'),
    status: abTestStatus('status').notNull().default('draft'),
    /** The metric that decides the winner (`clicks`, `conversions`...). */
    goalMetric: text('goal_metric').notNull(),
    /**
     * Share of traffic in percent per variant key (`{ "A": 50, "B": 50 }`). Held on the test row so
     * a CHECK guards a running test's split without reading another table (`ab_tests_weights_check`).
     */
    variantWeights: jsonb('variant_weights').$type<Record<string, number>>().notNull().default({}),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('ab_tests', t.name, 200),
    ...tenantReference('ab_tests', t, t.campaignId, campaigns),
    unique('ab_tests_organization_id_campaign_id_name_key').on(t.organizationId, t.campaignId, t.name),
    check('ab_tests_goal_metric_format_check', sql`${t.goalMetric} ~ '^[a-z][a-z0-9_]{0,62}$'`),
    check(
      'ab_tests_dates_check',
      sql`${t.endedAt} is null or ${t.startedAt} is null or ${t.endedAt} >= ${t.startedAt}`,
    ),
    check('ab_tests_running_check', sql`${t.status} <> 'running' or ${t.startedAt} is not null`),
    check('ab_tests_completed_check', sql`${t.status} <> 'completed' or ${t.endedAt} is not null`),
    // The functions (shard_safe_guards migration) read only the row: a CHECK that holds on Citus shards.
    check('ab_tests_variant_weights_check', sql`app_ab_test_weights_valid(${t.variantWeights})`),
    check(
      'ab_tests_weights_check',
      sql`${t.status} <> 'running' or app_ab_test_weights_ready(${t.variantWeights})`,
    ),
  ],
);

export type AbTest = typeof abTests.$inferSelect;
export type NewAbTest = typeof abTests.$inferInsert;

/** What a variant shows; its share of traffic is the test's `variant_weights[key]`. */
export const abTestVariants = tenantTable(
  'ab_test_variants',
  {
    abTestId: uuid('ab_test_id').notNull(),
    /** Short label (`A`, `B`, `control`). */
    key: text('key').notNull(),
    /** The version this variant shows; kept while a variant uses it. */
    contentVersionId: uuid('content_version_id'),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('ab_test_variants', t, t.abTestId, abTests),
    ...tenantReference('ab_test_variants', t, t.contentVersionId, contentVersions, 'no action'),
    unique('ab_test_variants_organization_id_ab_test_id_key_key').on(t.organizationId, t.abTestId, t.key),
    check('ab_test_variants_key_check', sql`${t.key} ~ '^[A-Za-z0-9_-]{1,40}$'`),
  ],
);

export type AbTestVariant = typeof abTestVariants.$inferSelect;
export type NewAbTestVariant = typeof abTestVariants.$inferInsert;
