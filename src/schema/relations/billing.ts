import { invoices, subscriptions } from '../billing.ts';
import { relations } from './define.ts';

// Billing: subscriptions and invoices.

export const subscriptionsRelations = relations(subscriptions, ({ many }) => ({
  invoices: many(invoices),
}));

export const invoicesRelations = relations(invoices, ({ one }) => ({
  subscription: one(subscriptions, {
    fields: [invoices.organizationId, invoices.subscriptionId],
    references: [subscriptions.organizationId, subscriptions.id],
  }),
}));
