import path from 'node:path';
import { defineConfig } from 'drizzle-kit';
import { defaultMigrationsFolder, drizzleKit1Folder } from './src/operator/migration-files.ts';
import { drizzleLine } from './src/schema/drizzle-line.ts';

// Generation reads the schema only; deploys run `drizzle-kit migrate` (or `neonhub-db migrate`) on DATABASE_URL.
// Without it, drizzle-kit's database commands reach the docker-compose server (`docker compose up -d --wait`);
// the embedded database has no URL: use `npm run db:studio` and `npm run db:migrate` for it.
const composeUrl = 'postgres://neonhub:neonhub@localhost:5432/neonhub';

/**
 * The URL with a setting every session of drizzle-kit starts with: on Citus a migration's DDL reaches
 * many shards of several tables, which Citus refuses in parallel inside one transaction (drizzle-kit
 * migrates in one), so one shard after the other, as `neonhub-db migrate` runs them. Elsewhere the
 * setting is an unused placeholder.
 */
export function sequentialOnCitus(url: string): string {
  try {
    const parsed = new URL(url);
    const options = parsed.searchParams.get('options');
    const sequential = '-c citus.multi_shard_modify_mode=sequential';
    parsed.searchParams.set('options', options ? `${options} ${sequential}` : sequential);
    return parsed.toString();
  } catch {
    return url;
  }
}

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  // drizzle-kit 1.0 (paired with drizzle-orm 1.0) reads one folder per migration: drizzle/ laid out so.
  // drizzle-kit 0.31 reads `out` relative to the working directory (a service's, in a deploy), even absolute.
  out: drizzleLine === '1.0' ? drizzleKit1Folder() : path.relative(process.cwd(), defaultMigrationsFolder),
  dbCredentials: {
    url: sequentialOnCitus(process.env.DATABASE_URL ?? composeUrl),
  },
  migrations: {
    table: '__drizzle_migrations',
    schema: 'drizzle',
  },
});
