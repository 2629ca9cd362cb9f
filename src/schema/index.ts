// The whole schema, one module per domain; imports flow from identity upwards. The relations
// (relations/, one module per domain) import the tables; no table module imports them.

export * from './agent-runs.ts';
export * from './agents.ts';
export * from './audit.ts';
export * from './billing.ts';
export * from './brand.ts';
export * from './byte-limits.ts';
export * from './campaigns.ts';
export * from './channels.ts';
export * from './chat.ts';
export * from './content.ts';
export * from './embeddings.ts';
export * from './enums.ts';
export * from './identity.ts';
export * from './integrations.ts';
export * from './rag.ts';
export * from './reembeddings.ts';
export * from './relations/index.ts';
export * from './work.ts';
