import { defineConfig } from 'drizzle-kit';

// Generation reads the schema only; deploys run `drizzle-kit migrate` (or `neonhub-db migrate`) on DATABASE_URL.
// Without it, drizzle-kit's database commands reach the docker-compose server (`docker compose up -d --wait`);
// the embedded database has no URL: use `npm run db:studio` and `npm run db:migrate` for it.
const composeUrl = 'postgres://neonhub:neonhub@localhost:5432/neonhub';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  out: './drizzle',
  strict: true,
  verbose: false,
  dbCredentials: {
    url: process.env.DATABASE_URL ?? composeUrl,
  },
  migrations: {
    table: '__drizzle_migrations',
    schema: 'drizzle',
  },
});
