// @ts-ignore: drizzle-orm 1.0 only (0.45 has no drizzle-orm/zod); never chosen on 0.45
import type * as builtInZod from 'drizzle-orm/zod';
import * as drizzleZod from 'drizzle-zod';
import { drizzleLine, type OnDrizzle1 } from '../schema/drizzle-line.ts';

// Zod schemas made from the tables. drizzle-zod reads drizzle-orm 0.45's columns; on 1.0 it would
// accept anything for uuid, integer, timestamp and jsonb columns (1.0 renamed the column types it
// compares against), so 1.0 uses its own drizzle-orm/zod, loaded without a top-level await (which
// would stop `require()` of the package and drizzle-kit's loading of the schema). The types follow.

type MakerNames = 'createSelectSchema' | 'createInsertSchema' | 'createUpdateSchema';
type Makers = OnDrizzle1 extends true
  ? Pick<typeof builtInZod, MakerNames>
  : Pick<typeof drizzleZod, MakerNames>;

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

const makers = (drizzleLine === '1.0' ? builtInMakers() : drizzleZod) as Makers;

export const { createSelectSchema, createInsertSchema, createUpdateSchema } = makers;
