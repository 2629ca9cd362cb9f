import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  gateStudioOrigin,
  STUDIO_ORIGIN,
  scopedStudioClient,
  studioRequestAllowed,
} from '../src/cli/studio.ts';
import { rowsOf } from '../src/client/client.ts';
import { drizzleLine } from '../src/schema/drizzle-line.ts';
import * as schema from '../src/schema/index.ts';
import { declaredRelationNames } from '../src/schema/relations/define.ts';
import type { SeedResult } from '../src/seed/index.ts';
import { cliProcessArgs, cliProcessEnv } from './support/cli.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { freePort } from './support/private-server.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

/** POSTs `body` to Studio's API as Studio's page does; the JSON answer. */
const askStudio = (port: number, body: object) =>
  new Promise<unknown>((resolve, reject) => {
    http
      .request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          headers: { origin: STUDIO_ORIGIN, 'content-type': 'application/json' },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () => resolve(JSON.parse(text)));
        },
      )
      .on('error', reject)
      .end(JSON.stringify(body));
  });

const database = useTestDatabase();
let acme: SeedResult;
let globex: SeedResult;

beforeAll(async () => {
  ({ acme, globex } = await seedAcmeAndGlobex(database.current.db));
});

describe('db:studio', () => {
  it("answers Studio's page on this machine only: another origin, no origin, or another host name (DNS rebinding) gets 403", async () => {
    const undo = gateStudioOrigin();
    const server = http.createServer((_request, response) => response.end('tenant data'));
    undo();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        http
          .request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          })
          .on('error', reject)
          .end('{}');
      });
    try {
      const answers = {
        'another site': await status({ origin: 'https://evil.example', host: `127.0.0.1:${port}` }),
        'no origin': await status({ host: `127.0.0.1:${port}` }),
        'a rebound host name': await status({ origin: STUDIO_ORIGIN, host: `evil.example:${port}` }),
        "Studio's page": await status({ origin: STUDIO_ORIGIN, host: `127.0.0.1:${port}` }),
      };
      console.log(`studio origin gate: ${JSON.stringify(answers)}`);
      expect(answers).toEqual({
        'another site': 403,
        'no origin': 403,
        'a rebound host name': 403,
        "Studio's page": 200,
      });
      expect(studioRequestAllowed({ headers: { origin: STUDIO_ORIGIN, host: 'localhost:4983' } })).toBe(true);
    } finally {
      server.close();
    }
  });

  it('with --org, every query Studio sends is a scope of that tenant, and the ticket it could read opens nothing afterwards', async () => {
    const client = scopedStudioClient(database.current, acme.organizationId);
    const counts = await client.query('select organization_id, count(*)::int as n from brands group by 1');
    const arrays = await client.query('select organization_id from brands limit 1', [], { rowMode: 'array' });
    const [{ ticket } = { ticket: '' }] = (
      await client.query("select current_setting('app.scope') as ticket")
    ).rows as { ticket: string }[];
    const inTransaction = await client.transaction((tx) => tx.query('select count(*)::int as n from brands'));
    const replayed = await database.current.db
      .transaction(async (tx) => {
        await tx.execute(
          sql`select set_config('role', 'neonhub_app', true), set_config('app.scope', ${ticket}, true)`,
        );
        return rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from brands`))[0]?.n ?? 0;
      })
      .catch(() => 0);
    expect(counts.rows).toEqual([{ organization_id: acme.organizationId, n: expect.any(Number) }]);
    expect(arrays.rows).toEqual([[acme.organizationId]]);
    expect(inTransaction.rows).toEqual(counts.rows.map((row) => ({ n: (row as { n: number }).n })));
    expect(ticket).toContain(acme.organizationId);
    expect(replayed).toBe(0);
    expect(globex.organizationId).not.toBe(acme.organizationId);
  });

  // The server and the process it runs in are Studio's own; a server reaches a child process, PGlite
  // in memory does not.
  it.skipIf(!onServer)(
    `starts Studio from the drizzle-kit paired with drizzle-orm ${drizzleLine}: it lists the relations, and with --org answers with that tenant's rows only (server)`,
    async () => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        cliProcessArgs(['studio', '--org', acme.organizationId, '--port', String(port)]),
        { env: cliProcessEnv({ DATABASE_URL: database.current.url ?? '', NEONHUB_DEVELOPMENT: '1' }) },
      );
      let output = '';
      try {
        await new Promise<void>((resolve, reject) => {
          const read = (chunk: Buffer) => {
            output += chunk.toString();
            // drizzle-kit says so once its server listens (the CLI's own line comes before).
            if (
              output.includes('Drizzle Studio scoped to organization') &&
              output.includes('Studio is running at')
            )
              resolve();
          };
          child.stdout.on('data', read);
          child.stderr.on('data', read);
          child.on('exit', (code) =>
            reject(new Error(`studio exited (${code}) before it started: ${output}`)),
          );
        });
        const init = (await askStudio(port, { type: 'init' })) as {
          relations: { name: string; table: string }[];
        };
        const proxy = (statement: string) =>
          askStudio(port, {
            type: 'proxy',
            data: { sql: statement, params: [], mode: 'object', method: 'all' },
          });
        const seen = await proxy('select distinct organization_id from brands');
        const [all] = rowsOf<{ n: number }>(
          await database.current.db.execute(
            sql`select count(distinct organization_id)::int as n from brands`,
          ),
        );
        console.log(
          `studio on drizzle-orm ${drizzleLine}: ${init.relations.length} relations, --org sees ${JSON.stringify(seen)} of ${all?.n} organizations with brands`,
        );
        const declared = [...declaredRelationNames(schema).values()].flat().length;
        expect(init.relations).toHaveLength(declared);
        expect(init.relations.map((relation) => `${relation.table}.${relation.name}`)).toEqual(
          expect.arrayContaining(['content_items.versions', 'ab_test_variants.abTest']),
        );
        expect(seen).toEqual([{ organization_id: acme.organizationId }]);
        expect(all?.n).toBeGreaterThanOrEqual(2);
      } finally {
        child.kill();
      }
    },
  );
});
