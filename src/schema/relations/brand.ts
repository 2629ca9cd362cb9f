import { brands, brandVoices } from '../brand.ts';
import { embeddingSpaces } from '../embeddings.ts';
import { organizations } from '../identity.ts';
import { relations } from './define.ts';

// Brands and their voices.

export const brandsRelations = relations(brands, ({ one, many }) => ({
  organization: one(organizations, { fields: [brands.organizationId], references: [organizations.id] }),
  voices: many(brandVoices),
}));

export const brandVoicesRelations = relations(brandVoices, ({ one }) => ({
  brand: one(brands, {
    fields: [brandVoices.organizationId, brandVoices.brandId],
    references: [brands.organizationId, brands.id],
  }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [brandVoices.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
}));
