import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { isUuid } from '../base/input.ts';
import { type DbHandle, rowsOf } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { createLocalEmbedder } from '../rag/embedder.ts';
import { type Embedder, getEmbeddingSpace } from '../rag/embedding-spaces.ts';
import { getReembedding, type Reembedding, startReembedding } from '../reembedding/reembedding.ts';
import { compareSpaces } from '../reembedding/reembedding-overlap.ts';
import { DEFAULT_BATCH_SIZE, type ReembedProgress, reembed } from '../reembedding/reembedding-run.ts';
import { dropOldVectors, rollbackReembedding, switchReembedding } from '../reembedding/reembedding-switch.ts';
import { LOCAL_EMBEDDING_SPACE } from '../seed/brand.ts';

export const reembedUsage = `neonhub-db reembed <step> --org <organization id> ...

  start    --dataset <id or slug> --to <space id>      record the move (idempotent); prints its id
  run      --migration <id> [--batch 1000] [--embedder <module>]
                                                     embed what is left into the new space, with a
                                                     progress bar; after a crash or Ctrl-C, run again
  status   --migration <id>                          state, rows left, tokens spent
  check    --migration <id> --query <text> ... [--old-embedder <module>] [--embedder <module>]
                                                     top-10 overlap of both spaces on sample queries
  switch   --migration <id>                          searches use the new space (one statement)
  rollback --migration <id>                          back to the old space, until dropped
  drop     --migration <id>                          delete the old vectors (no rollback after)

  Local spaces (${LOCAL_EMBEDDING_SPACE.provider}/${LOCAL_EMBEDDING_SPACE.model}) embed locally; for others give
  --embedder (and --old-embedder for check): a module whose default export is an Embedder.`;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

const options = (args: string[], name: string) =>
  args.flatMap((arg, i) => (arg === name && args[i + 1] !== undefined ? [args[i + 1] as string] : []));

/** The space's embedder: the local one for local spaces, else the default export of `module`. */
async function embedderFor(handle: DbHandle, spaceId: string, module: string | undefined): Promise<Embedder> {
  if (module) {
    const loaded = (await import(pathToFileURL(module).href)) as { default?: Embedder };
    if (!loaded.default?.embedMany) throw new Error(`${module} has no default export with embedMany`);
    return loaded.default;
  }
  const space = await getEmbeddingSpace(handle.db, spaceId);
  if (space.provider !== LOCAL_EMBEDDING_SPACE.provider || space.model !== LOCAL_EMBEDDING_SPACE.model)
    throw new Error(`space ${space.id} is ${space.provider}/${space.model}: give --embedder <module>`);
  return createLocalEmbedder(space.dimensions);
}

/** A one-line progress bar on stderr: rows, rate, time left, tokens. */
function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  return (p: ReembedProgress) => {
    const share = p.totalRows > 0 ? Math.min(1, p.rows / p.totalRows) : 1;
    const bar = `${'#'.repeat(Math.round(share * 30))}${'-'.repeat(30 - Math.round(share * 30))}`;
    const eta = p.etaSeconds === undefined ? '' : ` ETA ${Math.ceil(p.etaSeconds)} s`;
    const text =
      p.phase === 'embed'
        ? `[${bar}] ${(share * 100).toFixed(0)}% ${p.rows}/${p.totalRows} rows, ${Math.round(p.rowsPerSecond)} rows/s, ${p.tokens} tokens${eta}`
        : `building the tenant's index of the new space after ${p.rows} rows`;
    stream.write(stream.isTTY ? `\r${text.padEnd(100)}` : `${text}\n`);
  };
}

const describe = (m: Reembedding) =>
  `re-embedding ${m.id}: ${m.target}${m.datasetId ? ` ${m.datasetId}` : ''}, space ${m.fromSpaceId} -> ${m.toSpaceId}, ${m.state}; ` +
  `${m.embeddedRows} rows embedded (${m.embeddedTokens} tokens), ${m.remaining} of ${m.total} left` +
  (m.lastError ? `; last error: ${m.lastError}` : '');

/** `neonhub-db reembed <step>`: one step of moving a dataset to a new embedding space. */
export async function runReembed(
  handle: DbHandle,
  args: string[],
  say: (line: string) => void,
): Promise<void> {
  const [stepName] = args;
  const org = option(args, '--org');
  if (!stepName || !org) throw new Error(`missing arguments\n${reembedUsage}`);
  if (!isUuid(org)) throw new Error(`--org must be an organization id (a UUID), got ${org}`);
  const migrationId = option(args, '--migration') ?? '';
  const scoped = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(handle.db, org, fn);
  switch (stepName) {
    case 'start': {
      const key = option(args, '--dataset');
      const to = option(args, '--to');
      if (!key || !to) throw new Error(`start needs --dataset and --to\n${reembedUsage}`);
      const move = await scoped(async (tx) => {
        const [row] = rowsOf<{ id: string }>(
          await tx.execute(sql`
            select id from datasets where organization_id = ${org} and deleted_at is null
              and ${isUuid(key) ? sql`id = ${key}` : sql`slug = ${key}`}`),
        );
        if (!row) throw new Error(`no live dataset ${key} in organization ${org}`);
        return startReembedding(tx, { datasetId: row.id, toSpaceId: to });
      });
      say(describe(move));
      return;
    }
    case 'run': {
      const m = await scoped((tx) => getReembedding(tx, migrationId));
      const embedder = await embedderFor(handle, m.toSpaceId, option(args, '--embedder'));
      const done = await reembed(handle, {
        organizationId: org,
        migrationId,
        embedder,
        batchSize: Number(option(args, '--batch') ?? DEFAULT_BATCH_SIZE),
        onProgress: progressBar(),
      });
      process.stderr.write('\n');
      say(describe(done));
      return;
    }
    case 'status':
      say(describe(await scoped((tx) => getReembedding(tx, migrationId))));
      return;
    case 'check': {
      const queries = options(args, '--query');
      const m = await scoped((tx) => getReembedding(tx, migrationId));
      const oldEmbedder = await embedderFor(handle, m.fromSpaceId, option(args, '--old-embedder'));
      const newEmbedder = await embedderFor(handle, m.toSpaceId, option(args, '--embedder'));
      const report = await scoped((tx) =>
        compareSpaces(tx, { migrationId, queries, oldEmbedder, newEmbedder }),
      );
      for (const q of report.perQuery) say(`  ${(q.overlap * 100).toFixed(0).padStart(3)}%  ${q.query}`);
      say(`top-${report.k} overlap over ${report.queries} queries: ${(report.overlap * 100).toFixed(0)}%`);
      return;
    }
    case 'switch':
      say(describe(await scoped((tx) => switchReembedding(tx, migrationId))));
      return;
    case 'rollback': {
      const result = await scoped((tx) => rollbackReembedding(tx, migrationId));
      say(`${describe(result)}; ${result.missingInOldSpace} chunks without an old-space vector`);
      return;
    }
    case 'drop': {
      const { removed } = await dropOldVectors(handle, { organizationId: org, migrationId });
      say(`${removed} old vectors removed`);
      return;
    }
    default:
      throw new Error(`unknown step ${stepName}\n${reembedUsage}`);
  }
}
