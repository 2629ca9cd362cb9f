import { z } from 'zod';
import {
  abTests,
  abTestVariants,
  campaignContents,
  campaignMetrics,
  campaigns,
  metricNamePattern,
} from '../schema/campaigns.ts';
import { channels } from '../schema/enums.ts';
import { currencySchema, moneyMessage, moneyPattern } from './billing.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { slugPattern } from './identity.ts';
import { createInsertSchema, createUpdateSchema, nameText, rule, withRules } from './storable.ts';

// Shape of the JSON column; the table's `$type<T>()` says the same in TypeScript.
export const metricDimensionsSchema = z.record(
  z.string().min(1).max(64),
  z.union([z.string().max(200), z.number().finite(), z.boolean()]),
);

/** The metric names the tables' `*_metric_format_check` constraints accept. */
export const metricNameSchema = z
  .string()
  .regex(new RegExp(metricNamePattern), 'lowercase letters, digits and underscores, starting with a letter');

type Dated = { startsAt?: Date | null; endsAt?: Date | null };
const endNotBeforeStart = (v: Dated) => !v.startsAt || !v.endsAt || v.endsAt >= v.startsAt;

// ---------------------------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------------------------

const campaignRefinements = {
  slug: (s: z.ZodString) =>
    s.regex(slugPattern, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  name: nameText,
  objective: (s: z.ZodString) => s.max(2000),
  budget: (s: z.ZodString) => s.regex(moneyPattern, moneyMessage),
  currency: () => currencySchema,
};
export const selectCampaignSchema = createSelectSchema(campaigns);
type Campaign = typeof campaigns.$inferSelect;
const campaignRules = [
  rule<Campaign>(['startsAt', 'endsAt'], endNotBeforeStart, 'the end is not before the start'),
  rule<Campaign>(
    ['budget', 'currency'],
    (v) => v.budget == null || v.currency != null,
    'a budget has a currency',
  ),
  rule<Campaign>(
    ['status', 'startsAt'],
    (v) => !['scheduled', 'active', 'completed'].includes(v.status ?? 'draft') || v.startsAt != null,
    'a scheduled, active or completed campaign has a start',
  ),
];
export const insertCampaignSchema = withRules(
  createInsertSchema(campaigns, campaignRefinements),
  campaignRules,
  'insert',
);
export const updateCampaignSchema = withRules(
  createUpdateSchema(campaigns, campaignRefinements),
  campaignRules,
  'update',
);

export const selectCampaignContentSchema = createSelectSchema(campaignContents);
export const insertCampaignContentSchema = createInsertSchema(campaignContents, {
  position: (s) => s.int().min(0),
});
export const updateCampaignContentSchema = createUpdateSchema(campaignContents, {
  position: (s) => s.int().min(0),
});

export const selectCampaignMetricSchema = createSelectSchema(campaignMetrics, {
  dimensions: metricDimensionsSchema,
});

const wholeHour = (d: Date) => d.getTime() % 3_600_000 === 0;

/** One point for `upsertMetricPoints`: the value of a metric for an hour on a channel. */
export const metricPointSchema = z
  .object({
    campaignId: z.uuid(),
    contentItemId: z.uuid().nullish(),
    channel: z.enum(channels),
    metric: metricNameSchema,
    /** Start of the hour (a whole UTC hour). */
    bucket: z.date().refine(wholeHour, 'a whole hour (minutes, seconds and milliseconds zero)'),
    value: z.union([
      z.number().finite().min(0),
      z.string().regex(/^\d{1,16}(\.\d{1,4})?$/, 'a non-negative decimal with at most 4 decimals'),
    ]),
    dimensions: metricDimensionsSchema.optional(),
  })
  .strict();
export type MetricPoint = z.input<typeof metricPointSchema>;

// ---------------------------------------------------------------------------------------------
// A/B tests
// ---------------------------------------------------------------------------------------------

const variantKeySchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, `_` and `-`, up to 40');

/** A test's split: variant key to an integer percentage (`ab_tests_variant_weights_check`). */
export const abTestVariantWeightsSchema = z.record(variantKeySchema, z.number().int().min(0).max(100));

/** What a running test needs: at least two variants whose weights add up to 100 (`ab_tests_weights_check`). */
export function abTestWeightsReady(weights: Record<string, number>): boolean {
  const values = Object.values(weights);
  return values.length >= 2 && values.reduce((sum, weight) => sum + weight, 0) === 100;
}

const abTestRefinements = {
  name: nameText,
  goalMetric: () => metricNameSchema,
  hypothesis: (s: z.ZodString) => s.max(2000),
  variantWeights: () => abTestVariantWeightsSchema,
};
type AbTest = typeof abTests.$inferSelect;
const abTestRules = [
  rule<AbTest>(
    ['startedAt', 'endedAt'],
    (v) => !v.startedAt || !v.endedAt || v.endedAt >= v.startedAt,
    'the end is not before the start',
  ),
  rule<AbTest>(
    ['status', 'startedAt'],
    (v) => v.status !== 'running' || v.startedAt != null,
    'a running test has a start',
  ),
  rule<AbTest>(
    ['status', 'endedAt'],
    (v) => v.status !== 'completed' || v.endedAt != null,
    'a completed test has an end',
  ),
  rule<AbTest>(
    ['status', 'variantWeights'],
    (v) => v.status !== 'running' || abTestWeightsReady(v.variantWeights ?? {}),
    'a running test has at least two variants whose weights add up to 100',
  ),
];
export const selectAbTestSchema = createSelectSchema(abTests);
export const insertAbTestSchema = withRules(
  createInsertSchema(abTests, abTestRefinements),
  abTestRules,
  'insert',
);
export const updateAbTestSchema = withRules(
  createUpdateSchema(abTests, abTestRefinements),
  abTestRules,
  'update',
);

const abTestVariantRefinements = {
  key: () => variantKeySchema,
};
export const selectAbTestVariantSchema = createSelectSchema(abTestVariants);
export const insertAbTestVariantSchema = createInsertSchema(abTestVariants, abTestVariantRefinements);
export const updateAbTestVariantSchema = createUpdateSchema(abTestVariants, abTestVariantRefinements);

/** The split of a test about to run: at least two variants, weights adding up to 100 (`ab_tests_weights_check`). */
export const runningAbTestWeightsSchema = abTestVariantWeightsSchema.refine(abTestWeightsReady, {
  message: 'a running test has at least two variants whose weights add up to 100',
});
