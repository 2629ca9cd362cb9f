import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { describeServer } from '../base/errors.ts';
import { createDb, type DbHandle, defaultDataDir, openPglite } from '../client/client.ts';
import { drizzleVersion } from '../client/drizzle-internals.ts';
import { rawScopeQuery } from '../client/scope-sessions.ts';
import { withTenant } from '../client/tenant.ts';
import { organizationIdOf } from '../identity/organizations.ts';
import { drizzleLine } from '../schema/drizzle-line.ts';
import * as schema from '../schema/index.ts';
import { withFirstApiRelations } from '../schema/relations/define.ts';

// Drizzle Studio for the neonhub-db studio command: the whole database as the login sees it, or
// with --org one tenant as its scope sees it. Studio's local server answers any web page (CORS
// "*"), so the server this process starts serves the Studio page's origin only.

/** The origin of Drizzle Studio's page, the one browser caller the local server answers. */
export const STUDIO_ORIGIN = 'https://local.drizzle.studio';

const require = createRequire(import.meta.url);
const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Makes every HTTP(S) server this process creates refuse a request from another origin, or one that
 * names a host other than this machine (DNS rebinding): another site open in the browser could
 * otherwise read the tenant through Studio's API.
 */
export function gateStudioOrigin(): () => void {
  const modules = [http, https] as { createServer: (...args: unknown[]) => http.Server }[];
  const originals = modules.map((module) => module.createServer);
  for (const module of modules) {
    const create = module.createServer.bind(module);
    module.createServer = (...args: unknown[]) => {
      const index = args.findIndex((arg) => typeof arg === 'function');
      if (index >= 0) {
        const listener = args[index] as http.RequestListener;
        args[index] = (request: http.IncomingMessage, response: http.ServerResponse) =>
          studioRequestAllowed(request) ? listener(request, response) : response.writeHead(403).end();
      }
      return create(...args);
    };
  }
  // Undoes the gate (tests): servers made meanwhile keep it.
  return () => {
    modules.forEach((module, index) => {
      module.createServer = originals[index] as (typeof modules)[number]['createServer'];
    });
  };
}

/** Studio's page, on this machine: its Origin and a loopback Host. */
export function studioRequestAllowed(request: Pick<http.IncomingMessage, 'headers'>): boolean {
  const host = (request.headers.host ?? '').replace(/:\d+$/, '');
  return request.headers.origin === STUDIO_ORIGIN && ['127.0.0.1', 'localhost', '[::1]'].includes(host);
}

type StudioQuery = (
  text: string,
  params?: unknown[],
  options?: { rowMode?: 'array' | 'object' },
) => Promise<{ rows: unknown[] }>;

/**
 * What Studio's PGlite driver calls, answered in scopes of one tenant: each query, and each of
 * Studio's transactions, is a scope of its own, so Studio never holds more than a ticket of one transaction.
 */
export function scopedStudioClient(handle: DbHandle, organizationId: string) {
  const inScope =
    (tx: Parameters<typeof rawScopeQuery>[0]): StudioQuery =>
    async (text, params = [], options = {}) => ({
      rows: await rawScopeQuery(tx)(text, params, options.rowMode ?? 'object'),
    });
  const query: StudioQuery = (text, params, options) =>
    withTenant(handle.db, organizationId, (tx) => inScope(tx)(text, params, options));
  return {
    dataDir: `neonhub-scope:${organizationId}`,
    waitReady: Promise.resolve(),
    query,
    transaction: <T>(fn: (tx: { query: StudioQuery }) => Promise<T>) =>
      withTenant(handle.db, organizationId, (tx) => fn({ query: inScope(tx) })),
  };
}

type StartStudio = (
  imports: Record<string, unknown>,
  credentials: object,
  options: { port: number },
) => Promise<void>;

/**
 * Studio's server from the drizzle-kit paired with the installed drizzle-orm, and the schema as it
 * reads it: on 0.45 the package's own drizzle-kit 0.31; on 1.0 drizzle-kit 1.0 from the service (the
 * package cannot depend on both), which reads relations made by the first API's `relations()`.
 */
async function studioServer(): Promise<{ start: StartStudio; imports: Record<string, unknown> }> {
  if (drizzleLine === '0.45') {
    const { startStudioPostgresServer } = require('drizzle-kit/api') as {
      startStudioPostgresServer: StartStudio;
    };
    return { start: startStudioPostgresServer, imports: schema };
  }
  const entry = [path.join(process.cwd(), 'package.json'), import.meta.url]
    .map((from) => {
      try {
        return createRequire(from).resolve('drizzle-kit/api-postgres');
      } catch {
        return undefined;
      }
    })
    .find((found) => found !== undefined);
  if (!entry)
    throw new Error(
      `studio on drizzle-orm ${drizzleVersion} runs the drizzle-kit of that version, which is not installed: \`npm install -D drizzle-kit@${drizzleVersion}\` (the package brings drizzle-kit 0.31, which runs with drizzle-orm 0.45 only)`,
    );
  // Its ES module build: the CommonJS one reads a default export that pg's CommonJS build lacks.
  const kit = (await import(pathToFileURL(entry.replace(/\.js$/, '.mjs')).href)) as {
    startStudioServer: StartStudio;
  };
  const firstApi = 'drizzle-orm/_relations';
  const { relations } = (await import(firstApi)) as {
    relations: Parameters<typeof withFirstApiRelations>[1];
  };
  return { start: kit.startStudioServer, imports: withFirstApiRelations(schema, relations) };
}

/**
 * Drizzle Studio on the embedded database or `DATABASE_URL`. With `--org`, everything Studio sends
 * runs as neonhub_app in that tenant's scope, so it shows what the tenant sees to any login,
 * superuser or not; without it, what the login itself may see.
 */
export async function studio(port: number, org: string | undefined): Promise<void> {
  const url = process.env.DATABASE_URL;
  const { start: startStudio, imports } = await studioServer();
  if (org) {
    const handle = createDb();
    const organizationId = await organizationIdOf(handle.db, org);
    gateStudioOrigin();
    const client = scopedStudioClient(handle, organizationId);
    await startStudio(imports, { driver: 'pglite', client: client as unknown as PGlite }, { port });
    say(
      `Drizzle Studio scoped to organization ${organizationId}: ${STUDIO_ORIGIN}?port=${port} (Ctrl-C to stop)`,
    );
    return;
  }
  gateStudioOrigin();
  if (url) {
    await startStudio(imports, { url }, { port });
    say(`Drizzle Studio on ${describeServer(url)}: ${STUDIO_ORIGIN}?port=${port} (Ctrl-C to stop)`);
    return;
  }
  // drizzle-kit's own PGlite driver opens the data dir without pgvector, which cannot read it.
  const dataDir = defaultDataDir();
  if (!existsSync(dataDir))
    throw new Error(`no embedded database in ${dataDir}: run \`npm run db:setup\` first`);
  await startStudio(imports, { driver: 'pglite', client: openPglite(dataDir) }, { port });
  say(`Drizzle Studio on the embedded database: ${STUDIO_ORIGIN}?port=${port} (Ctrl-C to stop)`);
}
