// The whole schema, one module per domain; imports flow from identity upwards.

export * from './audit.ts';
export * from './brand.ts';
export * from './embeddings.ts';
export * from './enums.ts';
export * from './identity.ts';
export * from './rag.ts';
export * from './relations.ts';
