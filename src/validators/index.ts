// Zod schemas derived from the tables (drizzle-zod), one module per domain like src/schema/.

export * from './audit.ts';
export * from './brand.ts';
export * from './embeddings.ts';
export * from './identity.ts';
export * from './rag.ts';
