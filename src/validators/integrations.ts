import { z } from 'zod';
import { connectors, providerPattern } from '../schema/integrations.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema, nameText, rule, withRules } from './storable.ts';

export const connectorConfigSchema = z
  .object({
    accountId: z.string().min(1).max(200).optional(),
    scopes: z.array(z.string().min(1).max(200)).optional(),
    syncIntervalMinutes: z.number().int().min(5).max(10_080).optional(),
    settings: z
      .record(z.string().min(1).max(64), z.union([z.string().max(2000), z.number(), z.boolean()]))
      .optional(),
  })
  .strict();

const connectorRefinements = {
  provider: (s: z.ZodString) =>
    s.regex(new RegExp(providerPattern), 'lowercase letters, digits and underscores, starting with a letter'),
  name: nameText,
  config: () => connectorConfigSchema,
  lastError: (s: z.ZodString) => s.max(4000),
};
export const selectConnectorSchema = createSelectSchema(connectors, { config: connectorConfigSchema });
type Connector = typeof connectors.$inferSelect;
const connectorRules = [
  rule<Connector>(
    ['status', 'lastError'],
    (v) => v.status !== 'error' || v.lastError != null,
    'a connector in error says why',
  ),
  rule<Connector>(
    ['status', 'credentialId'],
    (v) => v.status !== 'connected' || v.credentialId != null,
    'a connected connector has a credential',
  ),
];
export const insertConnectorSchema = withRules(
  createInsertSchema(connectors, connectorRefinements),
  connectorRules,
  'insert',
);
export const updateConnectorSchema = withRules(
  createUpdateSchema(connectors, connectorRefinements),
  connectorRules,
  'update',
);
