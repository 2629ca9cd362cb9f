import { invoices, subscriptions, usageRecords } from '../schema/index.ts';
import { type DomainSeed, insertNew } from './context.ts';

const DAY = 24 * 3_600_000;

/** Midnight UTC of the day `offset` days from today. */
function day(offset: number): Date {
  return new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY);
}

export const billingSeed: DomainSeed = {
  name: 'billing',
  tenant: async (tx, ctx) => {
    const subscriptionId = ctx.id('subscription', 'pro');
    const counts: Record<string, number> = {};
    counts.subscriptions = await insertNew(tx, subscriptions, [
      {
        id: subscriptionId,
        plan: 'pro',
        status: 'active',
        provider: 'stripe',
        providerCustomerId: `cus_${ctx.slug}`,
        providerSubscriptionId: `sub_${ctx.slug}_pro`,
        seats: 5,
        unitAmount: '249.00',
        currency: 'EUR',
        currentPeriodStart: day(-15),
        currentPeriodEnd: day(15),
      },
    ]);
    // Two paid months and the one about to be charged.
    counts.invoices = await insertNew(
      tx,
      invoices,
      [2, 1, 0].map((monthsAgo, index) => {
        const start = day(-15 - 30 * monthsAgo);
        const paid = monthsAgo > 0;
        return {
          id: ctx.id('invoice', String(index + 1)),
          subscriptionId,
          number: `NH-${ctx.slug.toUpperCase()}-${String(index + 1).padStart(4, '0')}`,
          status: paid ? ('paid' as const) : ('open' as const),
          currency: 'EUR',
          subtotal: '249.00',
          tax: '47.31',
          total: '296.31',
          amountPaid: paid ? '296.31' : '0',
          lines: [{ description: 'Pro plan, 5 seats', quantity: 1, amount: '249.00' }],
          periodStart: start,
          periodEnd: new Date(start.getTime() + 30 * DAY),
          issuedAt: start,
          dueAt: new Date(start.getTime() + 14 * DAY),
          paidAt: paid ? new Date(start.getTime() + 2 * DAY) : null,
          providerInvoiceId: `in_${ctx.slug}_${index + 1}`,
        };
      }),
    );
    // Two meters, one record a day over the last two weeks (inside the current period).
    counts.usage_records = await insertNew(
      tx,
      usageRecords,
      Array.from({ length: 14 }, (_, i) => i + 1).flatMap((daysAgo) => [
        {
          id: ctx.id('usage', 'ai_tokens', String(daysAgo)),
          meter: 'ai_tokens',
          quantity: String(40_000 + ((daysAgo * 7919) % 25_000)),
          recordedAt: new Date(day(-daysAgo).getTime() + 12 * 3_600_000),
          idempotencyKey: `seed-ai_tokens-${daysAgo}`,
        },
        {
          id: ctx.id('usage', 'emails_sent', String(daysAgo)),
          meter: 'emails_sent',
          quantity: String(200 + ((daysAgo * 31) % 150)),
          recordedAt: new Date(day(-daysAgo).getTime() + 18 * 3_600_000),
          idempotencyKey: `seed-emails_sent-${daysAgo}`,
        },
      ]),
    );
    return counts;
  },
};
