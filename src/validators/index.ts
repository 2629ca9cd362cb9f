// Zod schemas derived from the tables (drizzle-zod), one module per domain like src/schema/.

export * from './agents.ts';
export * from './audit.ts';
export * from './chat.ts';
export * from './identity.ts';
