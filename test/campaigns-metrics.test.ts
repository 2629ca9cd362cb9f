import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import {
  campaignChannelTotals,
  campaignMetricSeries,
  campaignMetricSeriesSql,
  type MetricPoint,
  upsertMetricPoints,
} from '../src/domains/metrics.ts';
import { dropPartitionsBefore, ensurePartitions } from '../src/operator/partitions.ts';
import { campaignMetrics, campaigns, organizations } from '../src/schema/index.ts';
import { campaignSeedIds, SEED_METRIC_HOURS } from '../src/seed/campaigns.ts';
import { stableId } from '../src/seed/context.ts';
import { seedTenant } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';

const database = useTestDatabase();
const HOUR = 3_600_000;
const acme = { slug: 'acme', name: 'Acme', ownerEmail: 'owner@acme.example', ownerName: 'Acme Owner' };
const globex = {
  slug: 'globex',
  name: 'Globex',
  ownerEmail: 'owner@globex.example',
  ownerName: 'Globex Owner',
};
let orgId = '';
let otherOrgId = '';
let labCampaign = '';
const seeded = campaignSeedIds({
  organizationId: '',
  slug: acme.slug,
  ownerUserId: '',
  memberUserIds: {},
  membershipIds: {},
  id: (...parts) => stableId(acme.slug, ...parts),
  ring: undefined as never,
});

const inAcme = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(database.current.db, orgId, fn);

async function newCampaign(slug: string): Promise<string> {
  const [row] = await inAcme((tx) =>
    tx.insert(campaigns).values({ brandId: seeded.brand, slug, name: slug }).returning({ id: campaigns.id }),
  );
  if (!row) throw new Error('no campaign');
  return row.id;
}

beforeAll(async () => {
  orgId = (await seedTenant(database.current.db, acme)).organizationId;
  otherOrgId = (await seedTenant(database.current.db, globex)).organizationId;
  labCampaign = await newCampaign('metrics-lab');
});

const at = (iso: string) => new Date(iso);

describe('upsertMetricPoints', () => {
  it('inserts a batch once; replaying it changes nothing; a late event replaces one value', async () => {
    const points: MetricPoint[] = [];
    for (let hour = 0; hour < 3; hour++) {
      const bucket = new Date(at('2026-10-05T08:00:00Z').getTime() + hour * HOUR);
      points.push({ campaignId: labCampaign, channel: 'email', metric: 'opens', bucket, value: 10 + hour });
      points.push({ campaignId: labCampaign, channel: 'social', metric: 'opens', bucket, value: 100 + hour });
      // The same key but about a content item is another row.
      points.push({
        campaignId: labCampaign,
        contentItemId: seeded.content.welcome,
        channel: 'email',
        metric: 'opens',
        bucket,
        value: 1,
        dimensions: { device: 'mobile' },
      });
    }
    const first = await inAcme((tx) => upsertMetricPoints(tx, points));
    expect(first).toEqual({ inserted: 9, updated: 0, unchanged: 0 });

    const before = await inAcme((tx) =>
      tx
        .select()
        .from(campaignMetrics)
        .where(eq(campaignMetrics.campaignId, labCampaign))
        .orderBy(campaignMetrics.id),
    );
    const replay = await inAcme((tx) => upsertMetricPoints(tx, points));
    expect(replay).toEqual({ inserted: 0, updated: 0, unchanged: 9 });
    const after = await inAcme((tx) =>
      tx
        .select()
        .from(campaignMetrics)
        .where(eq(campaignMetrics.campaignId, labCampaign))
        .orderBy(campaignMetrics.id),
    );
    expect(after).toEqual(before);

    const late = { ...points[0], value: 42 } as MetricPoint;
    const lateResult = await inAcme((tx) => upsertMetricPoints(tx, [late]));
    expect(lateResult).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    const [row] = await inAcme((tx) =>
      tx
        .select({ value: campaignMetrics.value })
        .from(campaignMetrics)
        .where(
          sql`campaign_id = ${labCampaign} and channel = 'email' and content_item_id is null and bucket = ${late.bucket.toISOString()}`,
        ),
    );
    expect(row?.value).toBe('42.0000');
    console.log('first batch', first, 'replay', replay, 'late event', lateResult);
  });

  it('keeps the last point when a batch repeats a key', async () => {
    const bucket = at('2026-10-06T00:00:00Z');
    const key = { campaignId: labCampaign, channel: 'web' as const, metric: 'visits', bucket };
    const result = await inAcme((tx) =>
      upsertMetricPoints(tx, [
        { ...key, value: 1 },
        { ...key, value: 2 },
        { ...key, value: '3.5' },
      ]),
    );
    expect(result).toEqual({ inserted: 1, updated: 0, unchanged: 2 });
    const totals = await inAcme((tx) =>
      campaignChannelTotals(tx, { campaignId: labCampaign, metrics: ['visits'] }),
    );
    expect(totals).toEqual([{ channel: 'web', metric: 'visits', value: 3.5 }]);
  });

  it('refuses bad input with a typed error naming the column, and writes nothing of the batch', async () => {
    const good = { campaignId: labCampaign, channel: 'sms' as const, metric: 'sent', value: 1 };
    const count = () =>
      inAcme(async (tx) => {
        const [row] = rowsOf<{ n: number }>(
          await tx.execute(sql`select count(*)::int as n from campaign_metrics where metric = 'sent'`),
        );
        return row?.n ?? 0;
      });
    const cases: [MetricPoint, string][] = [
      [{ ...good, bucket: at('2026-10-05T08:30:00Z') }, 'bucket'],
      [{ ...good, bucket: at('2026-10-05T08:00:00Z'), value: -1 }, 'value'],
      [{ ...good, bucket: at('2026-10-05T08:00:00Z'), metric: 'Sent Emails' }, 'metric'],
      [{ ...good, bucket: at('2026-10-05T08:00:00Z'), channel: 'fax' as never }, 'channel'],
      [{ ...good, bucket: at('2026-10-05T08:00:00Z'), campaignId: 'not-a-uuid' }, 'campaign_id'],
    ];
    for (const [bad, column] of cases) {
      const error = await failure(
        inAcme((tx) => upsertMetricPoints(tx, [{ ...good, bucket: at('2026-10-05T09:00:00Z') }, bad])),
      );
      expect(error.kind).toBe('invalid_input');
      expect(error.table).toBe('campaign_metrics');
      expect(error.column).toBe(column);
      expect(error.message).toContain('points[1]');
    }
    // A campaign of another tenant (or none) is refused by the composite reference.
    const foreign = campaignSeedIds({
      organizationId: otherOrgId,
      slug: globex.slug,
      ownerUserId: '',
      memberUserIds: {},
      membershipIds: {},
      id: (...parts) => stableId(globex.slug, ...parts),
      ring: undefined as never,
    }).campaign;
    const error = await failure(
      inAcme((tx) =>
        upsertMetricPoints(tx, [
          { ...good, bucket: at('2026-10-05T09:00:00Z') },
          { ...good, campaignId: foreign, bucket: at('2026-10-05T10:00:00Z') },
        ]),
      ),
    );
    expect(error.kind).toBe('foreign_key_violation');
    expect(error.constraint).toBe('campaign_metrics_campaign_id_fkey');
    expect(error.table).toBe('campaign_metrics');
    expect(await count()).toBe(0);
    console.log('bad input error:', error.message.split('\n')[0]);
  });

  it('shows one tenant nothing of another', async () => {
    const seen = await withTenant(database.current.db, otherOrgId, (tx) =>
      tx.select().from(campaignMetrics).where(eq(campaignMetrics.campaignId, seeded.campaign)),
    );
    expect(seen).toEqual([]);
  });
});

describe('series and totals', () => {
  let seriesCampaign = '';
  beforeAll(async () => {
    seriesCampaign = await newCampaign('series-lab');
    // One point per hour and channel from 2026-03-27 00:00 to 2026-03-31 00:00 UTC, across the
    // Europe/Berlin switch to summer time on 2026-03-29.
    const points: MetricPoint[] = [];
    const start = at('2026-03-27T00:00:00Z').getTime();
    for (let hour = 0; hour < 96; hour++) {
      const bucket = new Date(start + hour * HOUR);
      points.push({ campaignId: seriesCampaign, channel: 'email', metric: 'clicks', bucket, value: 1 });
      points.push({ campaignId: seriesCampaign, channel: 'social', metric: 'clicks', bucket, value: 2 });
      if (hour % 2 === 0) {
        points.push({
          campaignId: seriesCampaign,
          channel: 'email',
          metric: 'impressions',
          bucket,
          value: 50,
        });
      }
    }
    await database.current.sql.query(`select app_create_monthly_partition('campaign_metrics', '2026-03-01')`);
    await inAcme((tx) => upsertMetricPoints(tx, points));
  });

  it('sums channels per hour and fills gaps with zeros', async () => {
    const series = await inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: seriesCampaign,
        metric: 'impressions',
        from: at('2026-03-30T20:00:00Z'),
        to: at('2026-03-31T02:00:00Z'),
        grain: 'hour',
        timeZone: 'UTC',
      }),
    );
    expect(series.points.map((p) => [p.bucket.toISOString().slice(11, 16), p.value])).toEqual([
      ['20:00', 50],
      ['21:00', 0],
      ['22:00', 50],
      ['23:00', 0],
      ['00:00', 0],
      ['01:00', 0],
    ]);
    const clicks = await inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: seriesCampaign,
        metric: 'clicks',
        from: at('2026-03-30T20:00:00Z'),
        to: at('2026-03-30T22:00:00Z'),
        grain: 'hour',
        timeZone: 'UTC',
      }),
    );
    expect(clicks.points.map((p) => p.value)).toEqual([3, 3]);
    const emailOnly = await inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: seriesCampaign,
        metric: 'clicks',
        from: at('2026-03-30T20:00:00Z'),
        to: at('2026-03-30T22:00:00Z'),
        grain: 'hour',
        timeZone: 'UTC',
        channel: 'email',
        contentItemId: null,
      }),
    );
    expect(emailOnly.points.map((p) => p.value)).toEqual([1, 1]);
  });

  it('cuts days in the requested zone, 23 hours on the day summer time starts', async () => {
    const series = await inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: seriesCampaign,
        metric: 'clicks',
        channel: 'email',
        from: at('2026-03-27T23:00:00Z'),
        to: at('2026-03-30T22:00:00Z'),
        grain: 'day',
        timeZone: 'Europe/Berlin',
      }),
    );
    // Local days 03-28 (24 h), 03-29 (23 h), 03-30 (24 h), starting at local midnight.
    expect(series.points.map((p) => [p.bucket.toISOString(), p.value])).toEqual([
      ['2026-03-27T23:00:00.000Z', 24],
      ['2026-03-28T23:00:00.000Z', 23],
      ['2026-03-29T22:00:00.000Z', 24],
    ]);
    console.log('Europe/Berlin daily email clicks around the DST switch', series.points);
  });

  it("uses the organization's time zone by default", async () => {
    await inAcme((tx) =>
      tx
        .update(organizations)
        .set({ settings: { defaultTimezone: 'America/New_York' } })
        .where(eq(organizations.id, orgId)),
    );
    const series = await inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: seriesCampaign,
        metric: 'clicks',
        from: at('2026-03-28T04:00:00Z'),
        to: at('2026-03-29T04:00:00Z'),
        grain: 'day',
      }),
    );
    expect(series.timeZone).toBe('America/New_York');
    expect(series.points).toEqual([{ bucket: at('2026-03-28T04:00:00Z'), value: 72 }]);
  });

  it('totals per channel and metric over a window, agreeing with the series', async () => {
    const totals = await inAcme((tx) => campaignChannelTotals(tx, { campaignId: seriesCampaign }));
    expect(totals).toEqual([
      { channel: 'email', metric: 'clicks', value: 96 },
      { channel: 'email', metric: 'impressions', value: 48 * 50 },
      { channel: 'social', metric: 'clicks', value: 192 },
    ]);
    const windowed = await inAcme((tx) =>
      campaignChannelTotals(tx, {
        campaignId: seriesCampaign,
        metrics: ['clicks'],
        from: at('2026-03-28T00:00:00Z'),
        to: at('2026-03-29T00:00:00Z'),
      }),
    );
    expect(windowed).toEqual([
      { channel: 'email', metric: 'clicks', value: 24 },
      { channel: 'social', metric: 'clicks', value: 48 },
    ]);
  });

  it('adds up the seeded 30 days the same way daily and in total', async () => {
    const now = new Date(Math.floor(Date.now() / HOUR) * HOUR);
    const from = new Date(now.getTime() - SEED_METRIC_HOURS * HOUR);
    const [series, totals] = await inAcme(async (tx) => [
      await campaignMetricSeries(tx, {
        campaignId: seeded.campaign,
        metric: 'impressions',
        from,
        to: now,
        grain: 'day',
        timeZone: 'UTC',
      }),
      await campaignChannelTotals(tx, {
        campaignId: seeded.campaign,
        metrics: ['impressions'],
        from,
        to: now,
      }),
    ]);
    const seriesSum = series.points.reduce((sum, p) => sum + p.value, 0);
    const totalSum = totals.reduce((sum, t) => sum + t.value, 0);
    console.log(`seeded impressions: ${series.points.length} daily points, ${totalSum} in total`, totals);
    expect(series.points.length).toBeGreaterThanOrEqual(SEED_METRIC_HOURS / 24);
    expect(seriesSum).toBe(totalSum);
    expect(totals.map((t) => t.channel)).toEqual(['email', 'social']);
  });

  it('refuses a window that ends before it starts, an unknown zone and an oversized series', async () => {
    const base = { campaignId: seriesCampaign, metric: 'clicks', grain: 'hour' as const };
    const cases: [Parameters<typeof campaignMetricSeries>[1], string][] = [
      [{ ...base, from: at('2026-03-02'), to: at('2026-03-01') }, 'to'],
      [{ ...base, from: at('2026-03-01'), to: at('2026-03-02'), timeZone: 'Mars/Olympus' }, 'time_zone'],
      [{ ...base, from: at('2020-01-01'), to: at('2026-01-01') }, 'to'],
    ];
    for (const [query, column] of cases) {
      const error = await failure(inAcme((tx) => campaignMetricSeries(tx, query)));
      expect(error.kind).toBe('invalid_input');
      expect(error.column).toBe(column);
    }
  });
});

describe('retention', () => {
  it('drops whole old partitions of campaign_metrics and keeps the rest', async () => {
    const { db, sql: raw } = database.current;
    const campaignId = await newCampaign('retention-lab');
    await raw.query(`select app_create_monthly_partition('campaign_metrics', '2025-01-01')`);
    await inAcme((tx) =>
      upsertMetricPoints(tx, [
        { campaignId, channel: 'email', metric: 'sent', bucket: at('2025-01-15T10:00:00Z'), value: 5 },
        { campaignId, channel: 'email', metric: 'sent', bucket: at('2026-10-15T10:00:00Z'), value: 7 },
      ]),
    );
    expect(await ensurePartitions(db)).toBeGreaterThanOrEqual(0);
    const dropped = await dropPartitionsBefore(db, 'campaign_metrics', at('2025-02-01T00:00:00Z'));
    expect(dropped).toEqual(['campaign_metrics_p2025_01']);
    const left = await inAcme((tx) => campaignChannelTotals(tx, { campaignId }));
    expect(left).toEqual([{ channel: 'email', metric: 'sent', value: 7 }]);
    console.log('retention dropped', dropped);
  });
});

type PlanNode = { 'Node Type'?: string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: PlanNode[] };

/** Every scan of an EXPLAIN (FORMAT JSON) plan: node type, relation and index. */
function scansOf(explained: unknown): { node: string; relation: string; index?: string }[] {
  const out: { node: string; relation: string; index?: string }[] = [];
  const walk = (node: PlanNode) => {
    // Bitmap index scans name the index only; their heap scan above names the relation.
    if ((node['Relation Name'] || node['Index Name']) && node['Node Type'])
      out.push({ node: node['Node Type'], relation: node['Relation Name'] ?? '', index: node['Index Name'] });
    for (const child of node.Plans ?? []) walk(child);
  };
  const root = (Array.isArray(explained) ? explained[0] : explained) as { Plan?: PlanNode } | undefined;
  if (root?.Plan) walk(root.Plan);
  return out;
}

describe('series plan', () => {
  // PGlite runs one connection without parallel workers and 40k hourly points take it minutes to
  // write; the plan that matters is the server's.
  it.skipIf(!onServer)('serves a series from the point key index on only the window partitions', async () => {
    const { sql: raw } = database.current;
    const campaignIds: string[] = [];
    for (let i = 0; i < 10; i++) campaignIds.push(await newCampaign(`plan-${i}`));
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    // 40k points over six weeks: enough rows that only an index scan reads one campaign's week.
    const hours = 1000;
    const points: MetricPoint[] = [];
    for (const campaignId of campaignIds) {
      for (let hour = 0; hour < hours; hour++) {
        const bucket = new Date(end - (hour + 1) * HOUR);
        for (const channel of ['email', 'social'] as const) {
          points.push({ campaignId, channel, metric: 'impressions', bucket, value: hour % 97 });
          points.push({ campaignId, channel, metric: 'clicks', bucket, value: hour % 7 });
        }
      }
    }
    const started = performance.now();
    const written = await inAcme((tx) => upsertMetricPoints(tx, points));
    const writeMs = performance.now() - started;
    expect(written.inserted).toBe(points.length);
    await raw.exec('analyze campaign_metrics');

    const query = {
      campaignId: campaignIds[3] ?? '',
      metric: 'clicks',
      from: new Date(end - 7 * 24 * HOUR),
      to: new Date(end),
      grain: 'day' as const,
      timeZone: 'Europe/Berlin',
    };
    const [plan] = await inAcme(async (tx) =>
      rowsOf<{ 'QUERY PLAN': unknown }>(
        await tx.execute(sql`explain (analyze, format json) ${campaignMetricSeriesSql(tx, query)}`),
      ),
    );
    const all = scansOf(plan?.['QUERY PLAN']);
    const scans = all.filter((scan) => scan.relation.startsWith('campaign_metrics'));
    const indexes = all.flatMap((scan) => (scan.index?.startsWith('campaign_metrics') ? [scan.index] : []));
    const timing = performance.now();
    const series = await inAcme((tx) => campaignMetricSeries(tx, query));
    const seriesMs = performance.now() - timing;
    console.log(
      `${points.length} points written in ${writeMs.toFixed(0)} ms; 7-day daily series (${series.points.length} points) in ${seriesMs.toFixed(1)} ms; scans:`,
      all.map(
        (scan) =>
          `${scan.node}${scan.relation ? ` on ${scan.relation}` : ''}${scan.index ? ` using ${scan.index}` : ''}`,
      ),
    );
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.every((scan) => scan.node !== 'Seq Scan')).toBe(true);
    expect(indexes.length).toBeGreaterThan(0);
    expect(indexes.every((index) => /^campaign_metrics_p\d{4}_\d{2}_.*key$/.test(index))).toBe(true);
    // Partition pruning: a 7-day window touches at most two monthly partitions.
    expect(new Set(scans.map((scan) => scan.relation)).size).toBeLessThanOrEqual(2);
    expect(series.points.reduce((sum, p) => sum + p.value, 0)).toBeGreaterThan(0);
  });
});
