// Zod schemas derived from the tables (drizzle-zod), one module per domain like src/schema/.

export * from './agents.ts';
export * from './audit.ts';
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
