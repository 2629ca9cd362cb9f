import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { toDatabaseError } from '../base/database-errors.ts';
import { parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { type Subscription, subscriptions } from '../schema/index.ts';
import { insertUsageRecordSchema } from '../validators/billing.ts';

export interface UsageInput {
  meter: string;
  /** Decimal string or number, not negative. */
  quantity: string | number;
  recordedAt: Date;
  /** The reporter's key for the event: replaying it records nothing new. */
  idempotencyKey: string;
  metadata?: Record<string, string | number | boolean>;
}

const usageInputSchema = insertUsageRecordSchema
  .pick({ meter: true, quantity: true, recordedAt: true, idempotencyKey: true, metadata: true })
  .extend({
    quantity: z.union([z.number().finite().min(0).transform(String), insertUsageRecordSchema.shape.quantity]),
  })
  .strict();

/**
 * Records usage events of the current tenant in one statement; an event whose idempotency key is
 * already stored is skipped (at-least-once reporters may retry freely). Bad input raises a
 * `InputError` (kind `invalid_input`) naming the column, and nothing is written.
 */
export async function recordUsage(
  tx: Transaction,
  events: readonly UsageInput[],
): Promise<{ recorded: number; duplicates: number }> {
  const rows = events.map((event, index) => {
    const parsed = parseInput(usageInputSchema, event, 'usage_records', `events[${index}]`);
    return {
      meter: parsed.meter,
      quantity: parsed.quantity,
      recorded_at: parsed.recordedAt.toISOString(),
      idempotency_key: parsed.idempotencyKey,
      metadata: parsed.metadata ?? {},
    };
  });
  if (rows.length === 0) return { recorded: 0, duplicates: 0 };
  const org = currentTenant(tx);
  try {
    const inserted = rowsOf<{ id: string }>(
      await tx.execute(sql`
        insert into usage_records (organization_id, meter, quantity, recorded_at, idempotency_key, metadata)
        select ${org}::uuid, e.meter, e.quantity, e.recorded_at, e.idempotency_key, e.metadata
        from jsonb_to_recordset(${jsonParam(rows)})
          as e(meter text, quantity numeric, recorded_at timestamptz, idempotency_key text, metadata jsonb)
        on conflict (organization_id, idempotency_key) do nothing
        returning id`),
    );
    return { recorded: inserted.length, duplicates: rows.length - inserted.length };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export interface MeterUsage {
  meter: string;
  /** Exact sum, as a decimal string (numeric). */
  quantity: string;
  events: number;
  firstAt: Date;
  lastAt: Date;
}

const periodSchema = z
  .object({ start: z.date(), end: z.date() })
  .strict()
  .refine((p) => p.end > p.start, { message: 'the period ends after it starts', path: ['end'] });

/**
 * The current tenant's usage over `[start, end)` per meter, summed exactly in SQL from the
 * `(organization_id, recorded_at, meter)` index; meters without usage in the period are absent.
 */
export async function usageByMeter(
  tx: Transaction,
  period: { start: Date; end: Date },
): Promise<MeterUsage[]> {
  const p = parseInput(periodSchema, period, 'usage_records', 'period');
  const org = currentTenant(tx);
  try {
    const rows = rowsOf<{
      meter: string;
      quantity: string | number;
      events: string | number;
      first_at: string | Date;
      last_at: string | Date;
    }>(
      await tx.execute(sql`
        select meter, sum(quantity)::text as quantity, count(*) as events,
               min(recorded_at) as first_at, max(recorded_at) as last_at
        from usage_records
        where organization_id = ${org}::uuid
          and recorded_at >= ${p.start.toISOString()}::timestamptz and recorded_at < ${p.end.toISOString()}::timestamptz
        group by meter
        order by meter`),
    );
    return rows.map((row) => ({
      meter: row.meter,
      quantity: String(row.quantity),
      events: Number(row.events),
      firstAt: new Date(row.first_at),
      lastAt: new Date(row.last_at),
    }));
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Usage per meter over a subscription's current billing period (default: the tenant's open
 * subscription, the one not canceled). Undefined when there is no such subscription.
 */
export async function usageForCurrentPeriod(
  tx: Transaction,
  subscriptionId?: string,
): Promise<{ subscription: Subscription; meters: MeterUsage[] } | undefined> {
  if (subscriptionId !== undefined) assertUuid(subscriptionId, 'subscriptionId');
  const [subscription] = await tx
    .select()
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.organizationId, currentTenant(tx)),
        subscriptionId ? eq(subscriptions.id, subscriptionId) : sql`${subscriptions.status} <> 'canceled'`,
      ),
    )
    .orderBy(desc(subscriptions.currentPeriodStart))
    .limit(1);
  if (!subscription) return undefined;
  const meters = await usageByMeter(tx, {
    start: subscription.currentPeriodStart,
    end: subscription.currentPeriodEnd,
  });
  return { subscription, meters };
}
