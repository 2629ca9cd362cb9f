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
import type { SeedResult } from '../src/seed/index.ts';
import { useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

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
});
