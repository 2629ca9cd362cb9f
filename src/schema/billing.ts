import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  numeric,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, lengthCheck, timestamps } from './columns.ts';
import { invoiceStatus, organizationPlan, subscriptionStatus } from './enums.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

/** Money: `numeric(14,2)` beside a `currency`, never a float. */
const money = (name: string) => numeric(name, { precision: 14, scale: 2 });
const currencyCheck = (table: string, column: AnyPgColumn) =>
  check(`${table}_currency_check`, sql`${column} ~ '^[A-Z]{3}$'`);

/** Meter names (`ai_tokens`, `seats`, `emails_sent`...), also the validators' pattern. */
export const meterPattern = '^[a-z][a-z0-9_.]{0,62}$';

export const subscriptions = tenantTable(
  'subscriptions',
  {
    plan: organizationPlan('plan').notNull(),
    status: subscriptionStatus('status').notNull(),
    /** The billing provider (`stripe`, `paddle`, `manual`). */
    provider: text('provider').notNull(),
    providerCustomerId: text('provider_customer_id'),
    providerSubscriptionId: text('provider_subscription_id'),
    seats: integer('seats').notNull().default(1),
    /** Recurring price per period in `currency`. */
    unitAmount: money('unit_amount').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    currentPeriodStart: timestamp('current_period_start', { withTimezone: true }).notNull(),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }).notNull(),
    trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    canceledAt: timestamp('canceled_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('subscriptions', t.provider, 50),
    lengthCheck('subscriptions', t.providerSubscriptionId, 200),
    unique('subscriptions_organization_id_provider_subscription_id_key').on(
      t.organizationId,
      t.provider,
      t.providerSubscriptionId,
    ),
    // At most one subscription that is not canceled per organization.
    uniqueIndex('subscriptions_organization_id_open_key')
      .on(t.organizationId)
      .where(sql`status <> 'canceled'`),
    check('subscriptions_period_check', sql`${t.currentPeriodEnd} > ${t.currentPeriodStart}`),
    check('subscriptions_seats_check', sql`${t.seats} >= 1`),
    check('subscriptions_unit_amount_check', sql`${t.unitAmount} >= 0`),
    currencyCheck('subscriptions', t.currency),
    check('subscriptions_canceled_check', sql`${t.status} <> 'canceled' or ${t.canceledAt} is not null`),
    check('subscriptions_trial_check', sql`${t.status} <> 'trialing' or ${t.trialEndsAt} is not null`),
  ],
);

export type Subscription = typeof subscriptions.$inferSelect;
export type NewSubscription = typeof subscriptions.$inferInsert;

export type InvoiceLine = {
  description: string;
  quantity: number;
  /** Decimal string in the invoice's currency, e.g. `"49.00"`. */
  amount: string;
  meter?: string;
};

export const invoices = tenantTable(
  'invoices',
  {
    /** The subscription billed; a subscription with invoices cannot be deleted (financial records stay). */
    subscriptionId: uuid('subscription_id'),
    /** Human invoice number (`NH-2026-0001`), unique per organization. */
    number: text('number').notNull(),
    status: invoiceStatus('status').notNull().default('draft'),
    currency: char('currency', { length: 3 }).notNull(),
    subtotal: money('subtotal').notNull(),
    tax: money('tax').notNull().default('0'),
    total: money('total').notNull(),
    amountPaid: money('amount_paid').notNull().default('0'),
    lines: jsonb('lines').$type<InvoiceLine[]>().notNull().default([]),
    periodStart: timestamp('period_start', { withTimezone: true }),
    periodEnd: timestamp('period_end', { withTimezone: true }),
    issuedAt: timestamp('issued_at', { withTimezone: true }),
    dueAt: timestamp('due_at', { withTimezone: true }),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    providerInvoiceId: text('provider_invoice_id'),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('invoices', t, t.subscriptionId, subscriptions, 'no action'),
    unique('invoices_organization_id_number_key').on(t.organizationId, t.number),
    // The billing page: invoices newest first.
    index('invoices_organization_id_issued_at_idx').on(t.organizationId, t.issuedAt),
    currencyCheck('invoices', t.currency),
    check('invoices_amounts_check', sql`${t.subtotal} >= 0 and ${t.tax} >= 0 and ${t.amountPaid} >= 0`),
    check('invoices_total_check', sql`${t.total} = ${t.subtotal} + ${t.tax}`),
    check('invoices_amount_paid_check', sql`${t.amountPaid} <= ${t.total}`),
    check(
      'invoices_period_check',
      sql`${t.periodEnd} is null or ${t.periodStart} is null or ${t.periodEnd} > ${t.periodStart}`,
    ),
    check(
      'invoices_due_check',
      sql`${t.dueAt} is null or ${t.issuedAt} is null or ${t.dueAt} >= ${t.issuedAt}`,
    ),
    check('invoices_issued_check', sql`${t.status} = 'draft' or ${t.issuedAt} is not null`),
    check(
      'invoices_paid_check',
      sql`${t.status} <> 'paid' or (${t.paidAt} is not null and ${t.amountPaid} = ${t.total})`,
    ),
    check('invoices_number_check', sql`length(btrim(${t.number})) between 1 and 64`),
  ],
);

export type Invoice = typeof invoices.$inferSelect;
export type NewInvoice = typeof invoices.$inferInsert;

export type UsageMetadata = Record<string, string | number | boolean>;

/** Metered usage events; a replayed event with the same idempotency key is stored once. */
export const usageRecords = tenantTable(
  'usage_records',
  {
    meter: text('meter').notNull(),
    quantity: numeric('quantity', { precision: 20, scale: 6 }).notNull(),
    /** When the usage happened (not when it was reported). */
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    /** The reporter's key for this event, unique per organization. */
    idempotencyKey: text('idempotency_key').notNull(),
    metadata: jsonb('metadata').$type<UsageMetadata>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    unique('usage_records_organization_id_idempotency_key_key').on(t.organizationId, t.idempotencyKey),
    // Usage over a billing period per meter: a range on time, grouped by meter.
    index('usage_records_organization_id_recorded_at_idx').on(t.organizationId, t.recordedAt, t.meter),
    check('usage_records_meter_format_check', sql`${t.meter} ~ '^[a-z][a-z0-9_.]{0,62}$'`),
    check('usage_records_quantity_check', sql`${t.quantity} >= 0`),
    check('usage_records_idempotency_key_check', sql`length(${t.idempotencyKey}) between 1 and 200`),
  ],
);

export type UsageRecord = typeof usageRecords.$inferSelect;
export type NewUsageRecord = typeof usageRecords.$inferInsert;
