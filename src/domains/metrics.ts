import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { toDatabaseError } from '../base/database-errors.ts';
import { parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { channels } from '../schema/enums.ts';
import { type MetricPoint, metricNameSchema, metricPointSchema } from '../validators/campaigns.ts';

export type { MetricPoint } from '../validators/campaigns.ts';

type Channel = (typeof channels)[number];

/** Points per statement: one JSON parameter each, well under protocol and memory limits. */
const BATCH = 5000;

export interface UpsertMetricPointsResult {
  /** Points that created a row. */
  inserted: number;
  /** Points that changed an existing row's value or dimensions (late events). */
  updated: number;
  /** Points equal to what was stored (a replayed batch is all unchanged). */
  unchanged: number;
}

/**
 * Writes metric points of the current tenant in bulk: one row per (campaign, content, channel,
 * metric, hour), so a late event for the same key replaces the value, and replaying a batch changes
 * nothing (not even `updated_at`). Within a batch the last point for a key wins. Every point is
 * validated first: bad input raises an `InputError` (kind `invalid_input`) naming the column, and
 * nothing is written. Set-based: `insert ... select from jsonb_to_recordset(...) on conflict ...`.
 */
export async function upsertMetricPoints(
  tx: Transaction,
  points: readonly MetricPoint[],
): Promise<UpsertMetricPointsResult> {
  const latest = new Map<string, Record<string, unknown>>();
  points.forEach((input, index) => {
    const point = parseInput(metricPointSchema, input, 'campaign_metrics', `points[${index}]`);
    const row = {
      campaign_id: point.campaignId,
      content_item_id: point.contentItemId ?? null,
      channel: point.channel,
      metric: point.metric,
      bucket: point.bucket.toISOString(),
      value: String(point.value),
      dimensions: point.dimensions ?? {},
    };
    latest.set(`${row.campaign_id}|${row.content_item_id}|${row.channel}|${row.metric}|${row.bucket}`, row);
  });
  const rows = [...latest.values()];
  const result: UpsertMetricPointsResult = { inserted: 0, updated: 0, unchanged: 0 };
  const org = currentTenant(tx);
  try {
    for (let start = 0; start < rows.length; start += BATCH) {
      const batch = rows.slice(start, start + BATCH);
      // Rows already there are counted in the same snapshot the insert sees, which splits the
      // written rows into new ones and changed ones (partitioned tables cannot return xmax).
      const [counts] = rowsOf<{ existing: number; written: number }>(
        await tx.execute(sql`
          with p as (
            select * from jsonb_to_recordset(${jsonParam(batch)}) as p(
              campaign_id uuid, content_item_id uuid, channel channel, metric text, bucket timestamptz,
              value numeric, dimensions jsonb)
          ), existing as (
            select count(*)::int as n
            from p join campaign_metrics m
              on m.organization_id = ${org}::uuid and m.campaign_id = p.campaign_id
              and m.metric = p.metric and m.bucket = p.bucket and m.channel = p.channel
              and m.content_item_id is not distinct from p.content_item_id
          ), written as (
            insert into campaign_metrics as m
              (organization_id, campaign_id, content_item_id, channel, metric, bucket, value, dimensions)
            select ${org}::uuid, p.campaign_id, p.content_item_id, p.channel, p.metric, p.bucket,
                   p.value, p.dimensions
            from p
            on conflict (organization_id, campaign_id, metric, bucket, channel, content_item_id)
            do update set value = excluded.value, dimensions = excluded.dimensions
            where (m.value, m.dimensions) is distinct from (excluded.value, excluded.dimensions)
            returning 1
          )
          select (select n from existing) as existing, (select count(*)::int from written) as written`),
      );
      const existing = Number(counts?.existing ?? 0);
      const written = Number(counts?.written ?? 0);
      const inserted = batch.length - existing;
      result.inserted += inserted;
      result.updated += written - inserted;
      result.unchanged += existing - (written - inserted);
    }
  } catch (error) {
    throw toDatabaseError(error);
  }
  result.unchanged += points.length - rows.length;
  return result;
}

export type MetricGrain = 'hour' | 'day';

export interface MetricSeriesQuery {
  campaignId: string;
  metric: string;
  /** Window start (inclusive). */
  from: Date;
  /** Window end (exclusive). */
  to: Date;
  grain: MetricGrain;
  /** IANA zone whose hours or days the series follows. Default: the organization's `settings.defaultTimezone`, else UTC. */
  timeZone?: string;
  /** Only this channel (default: all channels summed). */
  channel?: Channel;
  /** Only this content item, or `null` for campaign-level points (default: everything summed). */
  contentItemId?: string | null;
}

export interface MetricSeries {
  timeZone: string;
  grain: MetricGrain;
  /** One point per hour or day of the window, oldest first, zero where nothing was recorded. */
  points: { bucket: Date; value: number }[];
}

/** Longest series returned (about 416 days hourly, 27 years daily). */
export const MAX_SERIES_POINTS = 10_000;

const timeZoneSchema = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as `Europe/Berlin`');

const seriesQuerySchema = z
  .object({
    campaignId: z.uuid(),
    metric: metricNameSchema,
    from: z.date(),
    to: z.date(),
    grain: z.enum(['hour', 'day']),
    timeZone: timeZoneSchema.optional(),
    channel: z.enum(channels).optional(),
    contentItemId: z.uuid().nullable().optional(),
  })
  .strict()
  .refine((q) => q.to > q.from, { message: 'the window ends after it starts', path: ['to'] })
  .refine(
    (q) =>
      (q.to.getTime() - q.from.getTime()) / (q.grain === 'hour' ? 3_600_000 : 86_400_000) <=
      MAX_SERIES_POINTS,
    { message: `at most ${MAX_SERIES_POINTS} points per series`, path: ['to'] },
  );

/** The zone a tenant's reports use: its `settings.defaultTimezone`, else UTC. */
async function tenantTimeZone(tx: Transaction): Promise<string> {
  const [row] = rowsOf<{ zone: string | null }>(
    await tx.execute(
      sql`select settings ->> 'defaultTimezone' as zone from organizations where id = ${currentTenant(tx)}::uuid`,
    ),
  );
  return row?.zone && timeZoneSchema.safeParse(row.zone).success ? row.zone : 'UTC';
}

/** Filters shared by the series and totals queries; each keeps the point key's index usable. */
function pointFilters(q: { channel?: Channel; contentItemId?: string | null }): SQL {
  const parts: SQL[] = [];
  if (q.channel) parts.push(sql`and m.channel = ${q.channel}::channel`);
  if (q.contentItemId === null) parts.push(sql`and m.content_item_id is null`);
  else if (q.contentItemId) parts.push(sql`and m.content_item_id = ${q.contentItemId}::uuid`);
  return sql.join(parts, sql` `);
}

/**
 * The statement behind `campaignMetricSeries` for a query whose time zone is settled; exported so
 * its plan can be inspected (`EXPLAIN`). Validates the query like the function does.
 */
export function campaignMetricSeriesSql(
  tx: Transaction,
  query: MetricSeriesQuery & { timeZone: string },
): SQL {
  const q = parseInput(seriesQuerySchema, query, 'campaign_metrics', 'query');
  const org = currentTenant(tx);
  const timeZone = query.timeZone;
  const from = q.from.toISOString();
  const to = q.to.toISOString();
  // Hours step in absolute time from the first local hour; days step in local calendar days.
  const buckets =
    q.grain === 'hour'
      ? sql`select generate_series(date_trunc('hour', ${from}::timestamptz, ${timeZone}),
              ${to}::timestamptz - interval '1 microsecond', interval '1 hour') as bucket`
      : sql`select d at time zone ${timeZone} as bucket
            from generate_series(date_trunc('day', ${from}::timestamptz, ${timeZone}) at time zone ${timeZone},
              (${to}::timestamptz - interval '1 microsecond') at time zone ${timeZone}, interval '1 day') as d`;
  return sql`
    with sums as (
      select date_trunc(${q.grain}, m.bucket, ${timeZone}) as bucket, sum(m.value) as value
      from campaign_metrics m
      where m.organization_id = ${org}::uuid and m.campaign_id = ${q.campaignId}::uuid
        and m.metric = ${q.metric} and m.bucket >= ${from}::timestamptz and m.bucket < ${to}::timestamptz
        ${pointFilters(q)}
      group by 1
    ), buckets as (${buckets})
    select (extract(epoch from b.bucket) * 1000)::float8 as epoch_ms, coalesce(s.value, 0)::float8 as value
    from buckets b left join sums s on s.bucket = b.bucket
    order by b.bucket`;
}

/**
 * A campaign's series for one metric over `[from, to)` at hourly or daily grain in a time zone
 * (daily buckets are local days, 23 or 25 hours long across DST changes). Summed in SQL over the
 * point key's index (organization, campaign, metric, bucket range) and only the partitions of the
 * window; gaps are filled with zeros. Bad input raises an `InputError` (kind `invalid_input`).
 */
export async function campaignMetricSeries(tx: Transaction, query: MetricSeriesQuery): Promise<MetricSeries> {
  const q = parseInput(seriesQuerySchema, query, 'campaign_metrics', 'query');
  const timeZone = q.timeZone ?? (await tenantTimeZone(tx));
  try {
    const rows = rowsOf<{ epoch_ms: number | string; value: number | string }>(
      await tx.execute(campaignMetricSeriesSql(tx, { ...query, timeZone })),
    );
    return {
      timeZone,
      grain: q.grain,
      points: rows.map((row) => ({ bucket: new Date(Number(row.epoch_ms)), value: Number(row.value) })),
    };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export interface ChannelTotalsQuery {
  campaignId: string;
  /** Window start (inclusive); default: the campaign's first point. */
  from?: Date;
  /** Window end (exclusive); default: its last point. */
  to?: Date;
  /** Only these metrics (default: all). */
  metrics?: string[];
}

export interface ChannelTotal {
  channel: Channel;
  metric: string;
  value: number;
}

const totalsQuerySchema = z
  .object({
    campaignId: z.uuid(),
    from: z.date().optional(),
    to: z.date().optional(),
    metrics: z.array(metricNameSchema).min(1).optional(),
  })
  .strict()
  .refine((q) => !q.from || !q.to || q.to > q.from, {
    message: 'the window ends after it starts',
    path: ['to'],
  });

/** A campaign's totals per channel and metric over a window, summed in SQL from the point key's index. */
export async function campaignChannelTotals(
  tx: Transaction,
  query: ChannelTotalsQuery,
): Promise<ChannelTotal[]> {
  const q = parseInput(totalsQuerySchema, query, 'campaign_metrics', 'query');
  const window = [
    q.from && sql`and m.bucket >= ${q.from.toISOString()}::timestamptz`,
    q.to && sql`and m.bucket < ${q.to.toISOString()}::timestamptz`,
    q.metrics && sql`and m.metric = any(${`{${q.metrics.join(',')}}`}::text[])`,
  ].filter((part): part is SQL => Boolean(part));
  const org = currentTenant(tx);
  try {
    const rows = rowsOf<{ channel: Channel; metric: string; value: string | number }>(
      await tx.execute(sql`
        select m.channel, m.metric, sum(m.value) as value
        from campaign_metrics m
        where m.organization_id = ${org}::uuid and m.campaign_id = ${q.campaignId}::uuid
          ${sql.join(window, sql` `)}
        group by m.channel, m.metric
        order by m.channel, m.metric`),
    );
    return rows.map((row) => ({ channel: row.channel, metric: row.metric, value: Number(row.value) }));
  } catch (error) {
    throw toDatabaseError(error);
  }
}
