import { z } from 'zod';
import { invoices, meterPattern, subscriptions, usageRecords } from '../schema/billing.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema, rule, withRules } from './storable.ts';

// Money and decimal quantities (numeric columns come back as strings), shared with the campaign validators.

/** ISO 4217 code, as the tables' `<table>_currency_check` constraints require. */
export const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as `EUR` or `USD`');

/** A decimal string that fits `numeric(precision, scale)` and is not negative. */
export function decimalPattern(precision: number, scale: number): RegExp {
  return new RegExp(`^\\d{1,${precision - scale}}(\\.\\d{1,${scale}})?$`);
}

/** A non-negative amount that fits `numeric(14,2)`, as a string (`"49.00"`). */
export const moneyPattern = decimalPattern(14, 2);
export const moneyMessage =
  'a non-negative amount with at most 12 digits and 2 decimals, as a string (`"49.00"`)';

/**
 * Exact minor units of a `numeric(_,2)` string, for sums without floating point; undefined for a
 * malformed amount (its field reports that).
 */
export function toCents(amount: string | null | undefined): bigint | undefined {
  if (amount == null || !/^-?\d+(\.\d{1,2})?$/.test(amount)) return undefined;
  const negative = amount.startsWith('-');
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  return negative ? -cents : cents;
}

/** Compares amounts exactly; true when either is malformed (its own field reports that). */
function amounts(check: (...cents: bigint[]) => boolean, ...values: (string | null | undefined)[]): boolean {
  const cents = values.map(toCents);
  return cents.some((c) => c === undefined) || check(...(cents as bigint[]));
}

const money = (s: z.ZodString) => s.regex(moneyPattern, moneyMessage);

export const invoiceLineSchema = z
  .object({
    description: z.string().min(1).max(500),
    quantity: z.number().finite().min(0),
    amount: z.string().regex(/^-?\d{1,12}(\.\d{1,2})?$/, 'a decimal amount as a string (`"49.00"`)'),
    meter: z.string().regex(new RegExp(meterPattern)).optional(),
  })
  .strict();

export const usageMetadataSchema = z.record(
  z.string().min(1).max(64),
  z.union([z.string().max(500), z.number().finite(), z.boolean()]),
);

export const meterSchema = z
  .string()
  .regex(new RegExp(meterPattern), 'lowercase letters, digits, `_` and `.`, starting with a letter');

const subscriptionRefinements = {
  provider: (s: z.ZodString) => s.trim().min(1).max(50),
  providerSubscriptionId: (s: z.ZodString) => s.min(1).max(200),
  seats: (s: z.ZodNumber) => s.int().min(1),
  unitAmount: money,
  currency: () => currencySchema,
};
export const selectSubscriptionSchema = createSelectSchema(subscriptions);
type Subscription = typeof subscriptions.$inferSelect;
/** The table's CHECKs between columns. */
const subscriptionRules = [
  rule<Subscription>(
    ['currentPeriodStart', 'currentPeriodEnd'],
    (v) => !v.currentPeriodStart || !v.currentPeriodEnd || v.currentPeriodEnd > v.currentPeriodStart,
    'the period ends after it starts',
  ),
  rule<Subscription>(
    ['status', 'canceledAt'],
    (v) => v.status !== 'canceled' || v.canceledAt != null,
    'a canceled subscription has its cancellation time',
  ),
  rule<Subscription>(
    ['status', 'trialEndsAt'],
    (v) => v.status !== 'trialing' || v.trialEndsAt != null,
    'a trialing subscription has its trial end',
  ),
];
export const insertSubscriptionSchema = withRules(
  createInsertSchema(subscriptions, subscriptionRefinements),
  subscriptionRules,
  'insert',
);
export const updateSubscriptionSchema = withRules(
  createUpdateSchema(subscriptions, subscriptionRefinements),
  subscriptionRules,
  'update',
);

const invoiceRefinements = {
  number: (s: z.ZodString) => s.trim().min(1).max(64),
  currency: () => currencySchema,
  subtotal: money,
  tax: money,
  total: money,
  amountPaid: money,
  lines: () => z.array(invoiceLineSchema),
};
export const selectInvoiceSchema = createSelectSchema(invoices, { lines: z.array(invoiceLineSchema) });
type Invoice = typeof invoices.$inferSelect;
const invoiceRules = [
  rule<Invoice>(
    ['total', 'subtotal', 'tax'],
    (v) => amounts((total, subtotal, tax) => total === subtotal + tax, v.total, v.subtotal, v.tax ?? '0'),
    'the total is the subtotal plus tax',
    'total',
  ),
  rule<Invoice>(
    ['amountPaid', 'total'],
    (v) => amounts((paid, total) => paid <= total, v.amountPaid ?? '0', v.total),
    'the amount paid is not more than the total',
    'amountPaid',
  ),
  rule<Invoice>(
    ['status', 'issuedAt'],
    (v) => (v.status ?? 'draft') === 'draft' || v.issuedAt != null,
    'an issued invoice has its issue time',
  ),
  rule<Invoice>(
    ['status', 'paidAt', 'amountPaid', 'total'],
    (v) =>
      v.status !== 'paid' ||
      (v.paidAt != null && amounts((paid, total) => paid === total, v.amountPaid ?? '0', v.total)),
    'a paid invoice has its payment time and is paid in full',
    'paidAt',
  ),
  rule<Invoice>(
    ['issuedAt', 'dueAt'],
    (v) => !v.issuedAt || !v.dueAt || v.dueAt >= v.issuedAt,
    'the due date is not before the issue date',
  ),
  rule<Invoice>(
    ['periodStart', 'periodEnd'],
    (v) => !v.periodStart || !v.periodEnd || v.periodEnd > v.periodStart,
    'the period ends after it starts',
  ),
];
export const insertInvoiceSchema = withRules(
  createInsertSchema(invoices, invoiceRefinements),
  invoiceRules,
  'insert',
);
export const updateInvoiceSchema = withRules(
  createUpdateSchema(invoices, invoiceRefinements),
  invoiceRules,
  'update',
);

const usageRecordRefinements = {
  meter: () => meterSchema,
  quantity: (s: z.ZodString) =>
    s.regex(decimalPattern(20, 6), 'a non-negative decimal with at most 6 decimals, as a string'),
  idempotencyKey: (s: z.ZodString) => s.min(1).max(200),
  metadata: () => usageMetadataSchema,
};
export const selectUsageRecordSchema = createSelectSchema(usageRecords, { metadata: usageMetadataSchema });
export const insertUsageRecordSchema = createInsertSchema(usageRecords, usageRecordRefinements);
