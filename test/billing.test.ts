import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { recordUsage, usageByMeter, usageForCurrentPeriod } from '../src/domains/billing.ts';
import { invoices, subscriptions, usageRecords } from '../src/schema/index.ts';
import {
  insertInvoiceSchema,
  insertSubscriptionSchema,
  insertUsageRecordSchema,
  toCents,
} from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();
let orgId = '';
let otherOrgId = '';
const inOrg = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(database.current.db, orgId, fn);

beforeAll(async () => {
  const { acme, globex } = await seedAcmeAndGlobex(database.current.db);
  orgId = acme.organizationId;
  otherOrgId = globex.organizationId;
});

const invoice = {
  number: 'TEST-0001',
  currency: 'USD',
  subtotal: '100.00',
  tax: '19.00',
  total: '119.00',
};

describe('subscriptions and invoices', () => {
  it('allows one open subscription per organization', async () => {
    const second = {
      plan: 'starter' as const,
      status: 'active' as const,
      provider: 'stripe',
      unitAmount: '29.00',
      currency: 'USD',
      currentPeriodStart: new Date('2026-11-01'),
      currentPeriodEnd: new Date('2026-12-01'),
    };
    const error = await failure(inOrg((tx) => tx.insert(subscriptions).values(second)));
    expect(error.kind).toBe('unique_violation');
    expect(error.constraint).toBe('subscriptions_organization_id_open_key');
    // A canceled one is history, not a second open subscription.
    await inOrg((tx) =>
      tx.insert(subscriptions).values({ ...second, status: 'canceled', canceledAt: new Date('2026-11-15') }),
    );
    const periodBackwards = { ...second, currentPeriodEnd: new Date('2026-10-01') };
    const backwards = await failure(inOrg((tx) => tx.insert(subscriptions).values(periodBackwards)));
    expect(backwards.constraint).toBe('subscriptions_period_check');
    expect(insertSubscriptionSchema.safeParse(periodBackwards).success).toBe(false);
  });

  it('checks money: totals, currency, amounts paid, and numbers unique per organization', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...invoice, total: '118.99' }, 'invoices_total_check'],
      [{ ...invoice, currency: 'usd' }, 'invoices_currency_check'],
      [{ ...invoice, subtotal: '-1.00', total: '18.00' }, 'invoices_amounts_check'],
      [{ ...invoice, amountPaid: '200.00' }, 'invoices_amount_paid_check'],
      [{ ...invoice, status: 'paid', issuedAt: new Date(), paidAt: new Date() }, 'invoices_paid_check'],
      [{ ...invoice, status: 'open' }, 'invoices_issued_check'],
      [{ ...invoice, issuedAt: new Date('2026-11-10'), dueAt: new Date('2026-11-01') }, 'invoices_due_check'],
    ];
    for (const [values, constraint] of cases) {
      const error = await failure(
        inOrg((tx) => tx.insert(invoices).values(values as typeof invoices.$inferInsert)),
      );
      expect(error.kind, constraint).toBe('check_violation');
      expect(error.constraint).toBe(constraint);
      expect(insertInvoiceSchema.safeParse(values).success, constraint).toBe(false);
    }
    expect(insertInvoiceSchema.safeParse(invoice).success).toBe(true);
    await inOrg((tx) => tx.insert(invoices).values(invoice));
    const duplicate = await failure(inOrg((tx) => tx.insert(invoices).values(invoice)));
    expect(duplicate.constraint).toBe('invoices_organization_id_number_key');
    // Another organization may use the same number.
    await withTenant(database.current.db, otherOrgId, (tx) => tx.insert(invoices).values(invoice));
  });

  it('keeps amounts exact and refuses to delete a subscription that has invoices', async () => {
    const rows = await inOrg((tx) =>
      tx
        .select({ total: invoices.total, paid: invoices.amountPaid })
        .from(invoices)
        .where(eq(invoices.status, 'paid')),
    );
    expect(rows.length).toBe(2);
    const [sum] = await inOrg(async (tx) =>
      rowsOf<{ total: string }>(
        await tx.execute(sql`select sum(total)::text as total from invoices where status = 'paid'`),
      ),
    );
    expect(sum?.total).toBe('592.62');
    expect(rows.reduce((cents, row) => cents + (toCents(row.total) ?? 0n), 0n)).toBe(59262n);
    const error = await failure(
      inOrg((tx) => tx.delete(subscriptions).where(eq(subscriptions.status, 'active'))),
    );
    expect(error.kind).toBe('foreign_key_violation');
    expect(error.constraint).toBe('invoices_subscription_id_fkey');
  });
});

describe('usage', () => {
  it('records events once per idempotency key', async () => {
    const events = [
      {
        meter: 'api.calls',
        quantity: 3,
        recordedAt: new Date('2026-07-01T10:00:00Z'),
        idempotencyKey: 'evt-1',
      },
      {
        meter: 'api.calls',
        quantity: '2.5',
        recordedAt: new Date('2026-07-01T11:00:00Z'),
        idempotencyKey: 'evt-2',
      },
      {
        meter: 'storage_gb',
        quantity: '0.000001',
        recordedAt: new Date('2026-07-02T00:00:00Z'),
        idempotencyKey: 'evt-3',
      },
    ];
    expect(await inOrg((tx) => recordUsage(tx, events))).toEqual({ recorded: 3, duplicates: 0 });
    expect(await inOrg((tx) => recordUsage(tx, events))).toEqual({ recorded: 0, duplicates: 3 });
    // The other tenant's key space is its own.
    expect(
      await withTenant(database.current.db, otherOrgId, (tx) => recordUsage(tx, events.slice(0, 1))),
    ).toEqual({
      recorded: 1,
      duplicates: 0,
    });

    const usage = await inOrg((tx) =>
      usageByMeter(tx, { start: new Date('2026-07-01T00:00:00Z'), end: new Date('2026-08-01T00:00:00Z') }),
    );
    expect(usage).toEqual([
      {
        meter: 'api.calls',
        quantity: '5.500000',
        events: 2,
        firstAt: new Date('2026-07-01T10:00:00Z'),
        lastAt: new Date('2026-07-01T11:00:00Z'),
      },
      {
        meter: 'storage_gb',
        quantity: '0.000001',
        events: 1,
        firstAt: new Date('2026-07-02T00:00:00Z'),
        lastAt: new Date('2026-07-02T00:00:00Z'),
      },
    ]);
    // The period is half-open: an event at its end belongs to the next one.
    const july1 = await inOrg((tx) =>
      usageByMeter(tx, { start: new Date('2026-07-01T00:00:00Z'), end: new Date('2026-07-01T11:00:00Z') }),
    );
    expect(july1.map((m) => [m.meter, m.quantity])).toEqual([['api.calls', '3.000000']]);
  });

  it('refuses bad events with the column named, and records nothing of the batch', async () => {
    const good = { meter: 'api.calls', quantity: 1, recordedAt: new Date('2026-07-03T00:00:00Z') };
    const cases: [Parameters<typeof recordUsage>[1][number], string][] = [
      [{ ...good, idempotencyKey: 'bad-1', quantity: -1 }, 'quantity'],
      [{ ...good, idempotencyKey: 'bad-2', meter: 'API Calls' }, 'meter'],
      [{ ...good, idempotencyKey: '' }, 'idempotency_key'],
    ];
    for (const [bad, column] of cases) {
      const error = await failure(inOrg((tx) => recordUsage(tx, [{ ...good, idempotencyKey: 'ok-1' }, bad])));
      expect(error.kind).toBe('invalid_input');
      expect(error.table).toBe('usage_records');
      expect(error.column).toBe(column);
      expect(insertUsageRecordSchema.safeParse({ ...bad, quantity: String(bad.quantity) }).success).toBe(
        false,
      );
    }
    const stored = await inOrg((tx) =>
      tx.select().from(usageRecords).where(eq(usageRecords.idempotencyKey, 'ok-1')),
    );
    expect(stored).toEqual([]);
  });

  it("sums the seeded usage over the subscription's current period", async () => {
    const current = await inOrg((tx) => usageForCurrentPeriod(tx));
    console.log(
      'current period usage',
      current?.subscription.currentPeriodStart,
      current?.subscription.currentPeriodEnd,
      current?.meters,
    );
    expect(current?.subscription.plan).toBe('pro');
    expect(current?.meters.map((m) => [m.meter, m.events])).toEqual([
      ['ai_tokens', 14],
      ['emails_sent', 14],
    ]);
    const byId = await inOrg((tx) => usageForCurrentPeriod(tx, current?.subscription.id));
    expect(byId?.meters).toEqual(current?.meters);
  });
});
