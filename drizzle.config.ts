import path from 'node:path';
import { defineConfig } from 'drizzle-kit';
import { defaultMigrationsFolder, drizzleKit1Folder } from './src/operator/migration-files.ts';
import { drizzleLine } from './src/schema/drizzle-line.ts';

// Generation reads the schema only; deploys run `drizzle-kit migrate` (or `neonhub-db migrate`) on DATABASE_URL.
// Without it, drizzle-kit's database commands reach the docker-compose server (`docker compose up -d --wait`);
// the embedded database has no URL: use `npm run db:studio` and `npm run db:migrate` for it.
const composeUrl = 'postgres://neonhub:neonhub@localhost:5432/neonhub';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  // drizzle-kit 1.0 (paired with drizzle-orm 1.0) reads one folder per migration: drizzle/ laid out so.
  // drizzle-kit 0.31 reads `out` relative to the working directory (a service's, in a deploy), even absolute.
  out: drizzleLine === '1.0' ? drizzleKit1Folder() : path.relative(process.cwd(), defaultMigrationsFolder),
  dbCredentials: {
    url: process.env.DATABASE_URL ?? composeUrl,
  },
  migrations: {
    table: '__drizzle_migrations',
    schema: 'drizzle',
  },
});
