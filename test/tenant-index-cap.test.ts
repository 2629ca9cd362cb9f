import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb, rowsOf } from '../src/client/client.ts';
import { driverOf } from '../src/client/drizzle-internals.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { registerEmbeddingSpace, tenantIndexName, vectorLiteral } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { hybridSearch, searchChunks } from '../src/rag/search.ts';
import { watchTenantIndexes } from '../src/rag/tenant-index-watch.ts';
import {
  defaultMaxTenantIndexes,
  ensureTenantIndexes,
  maintainTenantIndexes,
  SEARCH_LOCKS_BESIDE_TENANT_INDEXES,
  type TenantIndexChanges,
} from '../src/rag/tenant-indexes.ts';
import { TENANT_INDEX_CHANNEL } from '../src/rag/vector-query.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { makeTenant } from './support/rag.ts';

// Every index of a table is opened and locked by the planner of each statement naming the table,
// so tenant indexes cost every search of every tenant: the maintainer keeps them under a cap.

const database = useTestDatabase();
const DIMS = 16;
const embedder = createLocalEmbedder(DIMS);
/** Small tenants stand in for large ones: an index from 3 rows, searched through it past 2. */
const MIN_ROWS = 3;
const searchOptions = { exactThreshold: MIN_ROWS - 1 };

let space: EmbeddingSpace;
let tenantNumber = 0;

beforeAll(async () => {
  space = await registerEmbeddingSpace(database.current.db, {
    provider: embedder.provider,
    model: embedder.model,
    dimensions: DIMS,
  });
});

/** A tenant with one dataset of `rows` chunks in `inSpace`; returns its id and the dataset's. */
async function tenantWith(rows: number, inSpace = space) {
  const organizationId = await makeTenant(database.current.db, `cap-${tenantNumber++}`);
  const datasetId = await withTenant(database.current.db, organizationId, async (tx) => {
    const dataset = await createDataset(tx, { slug: 'docs', name: 'Docs', embeddingSpaceId: inSpace.id });
    return dataset.id;
  });
  await grow(organizationId, datasetId, rows, inSpace);
  return { organizationId, datasetId };
}

async function grow(organizationId: string, datasetId: string, rows: number, inSpace = space) {
  const chunks = Array.from({ length: rows }, (_, i) => ({
    content: `launch plan ${i} for ${organizationId}`,
  }));
  await withTenant(database.current.db, organizationId, (tx) =>
    ingestDocument(tx, {
      datasetId,
      document: { title: `Plan ${rows}` },
      chunks,
      embedder: createLocalEmbedder(inSpace.dimensions),
    }),
  );
}

/** How a search of the tenant's whole space runs, and whether it found the exact top 2 (a threshold of at least k). */
async function searchOf(organizationId: string) {
  const vector = embedder.embed('launch plan');
  return withTenant(database.current.db, organizationId, async (tx) => {
    const found = await searchChunks(tx, { spaceId: space.id, vector, k: 2, ...searchOptions });
    const truth = rowsOf<{ id: string }>(
      await tx.execute(sql`select id from chunks where organization_id = ${organizationId}
                           order by embedding <=> ${vectorLiteral(vector)}::halfvec, id limit 2`),
    ).map((row) => row.id);
    return {
      path: `${found.strategy}/${found.index ?? 'no index'}${found.tenantIndexPending ? '/pending' : ''}`,
      exact:
        found.hits
          .map((hit) => hit.id)
          .sort()
          .join() === [...truth].sort().join(),
    };
  });
}

const own = (organizationId: string) => tenantIndexName('chunks', space.id, organizationId);

describe('the cap on tenant indexes', () => {
  it('gives the indexes it allows to the largest tenants, and a tenant that outgrows one of them takes its place', async () => {
    const handle = database.current;
    const large = await tenantWith(9);
    const middle = await tenantWith(6);
    const small = await tenantWith(4);
    const cap = { spaceId: space.id, minRows: MIN_ROWS, maxIndexes: 2 };

    const first = await maintainTenantIndexes(handle, cap);
    expect(first.built.sort()).toEqual([own(large.organizationId), own(middle.organizationId)].sort());
    expect(first.capped).toBe(1);
    // Past the threshold beyond the cap: searched exactly, at full recall, and still asking.
    expect(await searchOf(small.organizationId)).toEqual({ path: 'exact/no index/pending', exact: true });
    expect(await searchOf(middle.organizationId)).toEqual({ path: 'hnsw/tenant', exact: true });
    // ensureTenantIndexes gives only room the cap leaves, and makes none.
    expect(await ensureTenantIndexes(handle, { ...cap, organizationIds: [small.organizationId] })).toEqual(
      [],
    );

    await grow(small.organizationId, small.datasetId, 4);
    const second = await maintainTenantIndexes(handle, cap);
    expect(second).toEqual({
      built: [own(small.organizationId)],
      dropped: [own(middle.organizationId)],
      capped: 1,
      busy: false,
    });
    expect(await searchOf(small.organizationId)).toEqual({ path: 'hnsw/tenant', exact: true });
    expect(await searchOf(middle.organizationId)).toEqual({ path: 'exact/no index/pending', exact: true });
  });

  it('refuses a cap that is not a whole number of indexes, naming the table, and changes nothing', async () => {
    const before = await tenantIndexCount();
    for (const maxIndexes of [-1, 2.5, Number.NaN])
      await expect(
        maintainTenantIndexes(database.current, { spaceId: space.id, minRows: MIN_ROWS, maxIndexes }),
      ).rejects.toMatchObject({
        name: 'InputError',
        table: 'chunks',
        message: expect.stringMatching(/maxIndexes must be an integer >= 0/),
      });
    expect(await tenantIndexCount()).toBe(before);
  });

  it('keeps the relation locks of a search within max_locks_per_transaction, where more tenant indexes would not', async () => {
    const handle = database.current;
    const [setting] = await handle.sql.query<{ locks: string }>(
      `select current_setting('max_locks_per_transaction') as locks`,
    );
    const perTransaction = Number(setting?.locks);
    const cap = await defaultMaxTenantIndexes(handle);
    expect(cap).toBe(perTransaction - SEARCH_LOCKS_BESIDE_TENANT_INDEXES);
    // The tenants of the case above hold two; these fill the cap and go 20 past it.
    const tenants = [];
    for (let i = 0; i < cap + 20; i++) tenants.push(await tenantWith(MIN_ROWS + (i % 3)));
    const within = await maintainTenantIndexes(handle, { spaceId: space.id, minRows: MIN_ROWS });
    const held = await tenantIndexCount();
    expect(held).toBe(cap);
    expect(within.capped).toBeGreaterThanOrEqual(20);

    const searcher = tenants[0]?.organizationId as string;
    const locksOfSearch = () =>
      withTenant(handle.db, searcher, async (tx) => {
        await hybridSearch(tx, {
          spaceId: space.id,
          text: 'launch plan',
          vector: embedder.embed('launch plan'),
          k: 5,
          ...searchOptions,
        });
        const [row] = rowsOf<{ n: number }>(
          await tx.execute(sql`select count(*)::int as n from pg_locks
                               where pid = pg_backend_pid() and locktype = 'relation'`),
        );
        return Number(row?.n);
      });
    const atCap = await locksOfSearch();
    console.log(
      `max_locks_per_transaction ${perTransaction}: ${held} tenant indexes, a search holds ${atCap} locks`,
    );
    expect(atCap).toBeLessThanOrEqual(perTransaction);

    // The control: 20 more tenant indexes, past the cap, and the same search holds 20 locks more.
    const past = await ensureTenantIndexes(handle, {
      spaceId: space.id,
      minRows: MIN_ROWS,
      maxIndexes: cap + 20,
    });
    expect(past).toHaveLength(20);
    const pastCap = await locksOfSearch();
    console.log(`${held + 20} tenant indexes: a search holds ${pastCap} locks`);
    expect(pastCap).toBe(atCap + 20);
    expect(pastCap).toBeGreaterThan(perTransaction);
    // Maintenance takes the table back under the cap.
    const back = await maintainTenantIndexes(handle, { spaceId: space.id, minRows: MIN_ROWS });
    expect(back.dropped).toHaveLength(20);
    expect(await tenantIndexCount()).toBe(cap);
  });

  // A pool of one connection is a server's: the embedded database has one session for everything.
  it.runIf(onServer)(
    'refuses a pool of one connection, where it would wait for itself, and runs on a pool of two',
    async () => {
      const url = database.current.url as string;
      const single = createDb({ url, max: 1 });
      const pair = createDb({ url, max: 2 });
      try {
        await expect(maintainTenantIndexes(single, { spaceId: space.id, minRows: MIN_ROWS })).rejects.toThrow(
          /holds two connections at once .* this handle's pool has 1/,
        );
        expect(await maintainTenantIndexes(pair, { spaceId: space.id, minRows: MIN_ROWS })).toMatchObject({
          busy: false,
        });
      } finally {
        await single.close();
        await pair.close();
      }
    },
  );

  // Searches notify the watch on a server; the embedded database's watch looks every second instead.
  describe.runIf(onServer)('notifications of tenants the cap leaves without an index', () => {
    let other: EmbeddingSpace;
    beforeAll(async () => {
      // A second space, whose notifications come after the first's and are waited for.
      other = await registerEmbeddingSpace(database.current.db, {
        provider: embedder.provider,
        model: embedder.model,
        dimensions: 8,
      });
    });
    /** A search of a tenant past the threshold; with no room under the cap, pending. */
    const searchPending = (organizationId: string, inSpace: EmbeddingSpace) =>
      withTenant(database.current.db, organizationId, (tx) =>
        searchChunks(tx, {
          spaceId: inSpace.id,
          vector: createLocalEmbedder(inSpace.dimensions).embed('launch plan'),
          k: 3,
          ...searchOptions,
        }),
      );

    it('a process asks once a minute for one tenant, where each other tenant asks at its first search', async () => {
      const received: string[] = [];
      const arrived: (() => void)[] = [];
      const server = driverOf(database.current.db) as postgres.Sql;
      const listener = await server.listen(TENANT_INDEX_CHANNEL, (payload) => {
        received.push(payload);
        arrived.shift()?.();
      });
      const next = () => new Promise<void>((resolve) => arrived.push(resolve));
      try {
        await maintainTenantIndexes(database.current, {
          spaceId: space.id,
          minRows: MIN_ROWS,
          maxIndexes: 0,
        });
        const [repeated, control] = [await tenantWith(5), await tenantWith(5)];
        const first = next();
        expect((await searchPending(repeated.organizationId, space)).tenantIndexPending).toBe(true);
        await first;
        expect((await searchPending(repeated.organizationId, space)).tenantIndexPending).toBe(true);
        // Notifications arrive in commit order: once the control's is here, a second one would be too.
        const controlArrived = next();
        await searchPending(control.organizationId, space);
        await controlArrived;
        expect(received).toEqual([space.id, space.id]);
      } finally {
        await listener.unlisten();
      }
    });

    it('the watch holds the notifications of a space whose last maintenance changed nothing, where a watch without the pause maintains it again', async () => {
      const handle = database.current;
      const passes = async (quietMs: number) => {
        // Tenants of their own: a process asks for each tenant's index once a minute.
        const [first, second, otherTenant] = [
          await tenantWith(5),
          await tenantWith(5),
          await tenantWith(5, other),
        ];
        const seen: string[] = [];
        const waiters: { spaceId: string; resolve: () => void }[] = [];
        const watch = await watchTenantIndexes(handle, {
          minRows: MIN_ROWS,
          // No room: every search of these tenants is pending.
          maxIndexes: 0,
          quietMs,
          onMaintained: (event: TenantIndexChanges & { spaceId: string }) => {
            seen.push(event.spaceId);
            for (const waiter of waiters.filter((w) => w.spaceId === event.spaceId)) waiter.resolve();
          },
        });
        const maintained = (spaceId: string) =>
          new Promise<void>((resolve) => waiters.push({ spaceId, resolve }));
        try {
          const once = maintained(space.id);
          expect((await searchPending(first.organizationId, space)).tenantIndexPending).toBe(true);
          await once;
          // Asked again, then for the other space: its maintenance comes after this one's would.
          const then = maintained(other.id);
          await searchPending(second.organizationId, space);
          await searchPending(otherTenant.organizationId, other);
          await then;
          return seen.filter((spaceId) => spaceId === space.id).length;
        } finally {
          await watch.stop();
        }
      };
      expect(await passes(0)).toBe(2);
      expect(await passes(60_000)).toBe(1);
    });
  });
});

async function tenantIndexCount(): Promise<number> {
  const [row] = await database.current.sql.query<{ n: number }>(
    `select count(*)::int as n from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid in ('public.chunks'::regclass, 'public.chunk_embeddings'::regclass)
       and i.indisvalid and c.relname ~ '_[0-9a-f]{12}_[0-9a-f]{12}_hnsw_idx$'`,
  );
  return Number(row?.n);
}
