import * as drizzleZod from 'drizzle-zod';
import { drizzleLine } from '../schema/drizzle-line.ts';

// Zod schemas made from the tables. drizzle-zod reads drizzle-orm 0.45's columns; on 1.0 it would
// accept anything for uuid, integer, timestamp and jsonb columns (1.0 renamed the column types it
// compares against), so 1.0 uses its own drizzle-orm/zod, loaded without a top-level await (which
// would stop `require()` of the package and drizzle-kit's loading of the schema).

type Makers = Pick<typeof drizzleZod, 'createSelectSchema' | 'createInsertSchema' | 'createUpdateSchema'>;

function builtInMakers(): Makers {
  const nodeModule = globalThis.process?.getBuiltinModule?.('node:module') as
    | typeof import('node:module')
    | undefined;
  if (!nodeModule)
    throw new Error(
      'with drizzle-orm 1.0 the validators load drizzle-orm/zod, which needs Node.js 20.16 or later',
    );
  return nodeModule.createRequire(import.meta.url)('drizzle-orm/zod') as Makers;
}

const makers: Makers = drizzleLine === '1.0' ? builtInMakers() : drizzleZod;

export const { createSelectSchema, createInsertSchema, createUpdateSchema } = makers;
