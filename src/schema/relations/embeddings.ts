import { brandVoices } from '../brand.ts';
import { embeddingSpaces } from '../embeddings.ts';
import { chunks, datasets } from '../rag.ts';
import { relations } from './define.ts';

// Embedding spaces: the vectors of brand voices, datasets and chunks.

export const embeddingSpacesRelations = relations(embeddingSpaces, ({ many }) => ({
  brandVoices: many(brandVoices),
  datasets: many(datasets),
  chunks: many(chunks),
}));
