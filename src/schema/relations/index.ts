// Drizzle relations (the relational query API), one module per domain like the tables; they import
// the tables, the tables never import them.

export * from './agents.ts';
export * from './billing.ts';
export * from './brand.ts';
export * from './campaigns.ts';
export * from './channels.ts';
export * from './chat.ts';
export * from './content.ts';
export * from './embeddings.ts';
export * from './identity.ts';
export * from './integrations.ts';
export * from './rag.ts';
export * from './work.ts';
