import { defineConfig } from 'drizzle-kit';

// Generation reads the schema only; deploys run `drizzle-kit migrate` (or `neonhub-db migrate`) on DATABASE_URL.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  out: './drizzle',
  strict: true,
  verbose: false,
  dbCredentials: {
    url: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@localhost:5432/neonhub',
  },
  migrations: {
    table: '__drizzle_migrations',
    schema: 'drizzle',
  },
});
