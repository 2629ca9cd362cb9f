import { credentials } from '../identity.ts';
import { connectors } from '../integrations.ts';
import { relations } from './define.ts';

// Integrations: connectors.

export const connectorsRelations = relations(connectors, ({ one }) => ({
  credential: one(credentials, {
    fields: [connectors.organizationId, connectors.credentialId],
    references: [credentials.organizationId, credentials.id],
  }),
}));
