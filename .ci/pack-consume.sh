#!/usr/bin/env bash
# Pack-and-consume: what a service installing @neonhub/db gets. Packs the package (prepack builds
# it), installs the tarball from the npm registry into temporary ESM TypeScript consumers, and
# in each: type-checks a small service, runs it on the embedded database (migrate, an organization,
# an API key, a document ingested and searched in its scope, the demo seed, one scoped read), runs the
# `neonhub-db` bin, and checks there is one drizzle-orm and one PGlite.
# First, `npx neonhub-db` inside the project itself.
#   consumer "nodenext": moduleResolution nodenext, the lowest peer versions of the ranges
#   consumer "bundler":  moduleResolution bundler, the peers npm picks (newest in range)
#   consumer "drizzle1": moduleResolution bundler, drizzle-orm 1.0 (the lowest of the range's second line) and
#                        the drizzle-kit of its version, installed with --legacy-peer-deps: drizzle-zod's peer
#                        range leaves out prereleases
#   consumer "pnpm":     pnpm with strict peer dependencies, the peers pnpm picks; no warning allowed
#   consumer "pnpm-drizzle1": the same with drizzle-orm 1.0 (pnpm accepts the prerelease for drizzle-zod)
# The bundler (drizzle-kit 0.31) and drizzle1 (drizzle-kit 1.0) consumers also deploy with `drizzle-kit migrate`
# and the package's drizzle.config.ts, and open db:studio, on the server in PACK_DATABASE_URL when there is one.
# The drizzle1 consumers type-check with the "drizzle-orm-1" condition (the declarations built against 1.0);
# every consumer's service fails to type-check if its rows come back `any`.
# Usage: [PACK_DATABASE_URL=postgres://…] bash .ci/pack-consume.sh [--keep]   (--keep leaves the temporary directory for a look)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
WORK="$(mktemp -d /tmp/neonhub-pack.XXXXXX)"
[[ ${1:-} == --keep ]] || trap 'rm -rf "$WORK"' EXIT
PNPM_VERSION=12.25.1   # the pnpm the strict consumer installs with (from the npm registry)
log() { echo "pack-consume: $*"; }
fail() { echo "pack-consume: FAILED: $*" >&2; exit 1; }

# Versions the consumer's own tooling uses: the package's pinned dev versions.
dev_version() { node -p "require('$ROOT/package.json').devDependencies['$1']"; }
# Lowest version of a peer range's first alternative ("^0.45.0 || ^1.0.0-rc.5" -> 0.45.0, "0.0.15" -> 0.0.15),
# or of its second with `peer_floor NAME 1` (-> 1.0.0-rc.5).
peer_floor() {
  node -p "require('$ROOT/package.json').peerDependencies['$1'].split('||')[${2:-0}].trim().replace(/^[\^~>=]+/, '')"
}

# Inside the project, without a build: npx finds the project's own bin, which runs the source.
help="$(npx --yes neonhub-db help)" || fail "npx neonhub-db help in the project"
grep -q '^  generate ' <<<"$help" || fail "npx neonhub-db in the project printed: $help"
log "npx neonhub-db works in the project"

# The 1.0 declarations are built against the drizzle-orm-1 alias: the 1.0 the range starts at.
alias="$(dev_version drizzle-orm-1)"
[[ $alias == "npm:drizzle-orm@$(peer_floor drizzle-orm 1)" ]] ||
  fail "devDependencies drizzle-orm-1 is $alias; the peer range's 1.0 starts at $(peer_floor drizzle-orm 1)"

log "npm pack (prepack builds dist/ and the 1.0 declarations in dist/drizzle1/)"
TARBALL="$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)"
[[ -f $TARBALL ]] || fail "npm pack wrote no tarball"
FILES="$(tar -tzf "$TARBALL")"
for file in dist/index.js dist/cli/cli.js dist/drizzle1/index.d.ts bin/neonhub-db.js drizzle/meta/_journal.json; do
  grep -qx "package/$file" <<<"$FILES" || fail "the tarball has no $file"
done
log "$(basename "$TARBALL"): $(wc -l <<<"$FILES") files"

write_service() {
  mkdir -p "$1/src"
  cat >"$1/src/service.ts" <<'TS'
// A service as the README shows it: an organization with its owner, an API key, a document ingested
// and searched in the tenant's scope, the demo seed and a validator, queried with the consumer's own
// drizzle-orm.
import {
  createApiKey,
  createDataset,
  createDb,
  createLocalEmbedder,
  createOrganization,
  createUser,
  currentTenant,
  ingestDocument,
  registerEmbeddingSpace,
  schema,
  searchChunks,
  seed,
  verifyApiKey,
  withTenant,
} from '@neonhub/db';
import { migrate } from '@neonhub/db/migrate';
import { insertBrandSchema } from '@neonhub/db/validators';
import { and, eq } from 'drizzle-orm';

const handle = createDb({ dataDir: 'memory://' });
try {
  await migrate(handle);
  const owner = await createUser(handle.db, { email: 'owner@consumer.example', name: 'Owner' });
  const { organization } = await createOrganization(handle.db, {
    slug: 'consumer',
    name: 'Consumer',
    ownerUserId: owner.id,
  });
  const embedder = createLocalEmbedder(64);
  const space = await registerEmbeddingSpace(handle.db, {
    provider: embedder.provider,
    model: embedder.model,
    dimensions: embedder.dimensions,
  });
  const { key, hits } = await withTenant(handle.db, organization.id, async (tx) => {
    const { key } = await createApiKey(tx, { name: 'consumer', scopes: [], createdByUserId: owner.id });
    const dataset = await createDataset(tx, { slug: 'docs', name: 'Docs', embeddingSpaceId: space.id });
    await ingestDocument(tx, {
      datasetId: dataset.id,
      document: { title: 'Guide' },
      chunks: [{ content: 'neon signs glow all night downtown' }, { content: 'tax forms are due in april' }],
      embedder,
    });
    const { hits } = await searchChunks(tx, { spaceId: space.id, text: 'neon signs glow', embedder, k: 1 });
    return { key, hits };
  });
  const verified = await verifyApiKey(handle.db, key);
  if (!verified.ok || verified.organizationId !== organization.id)
    throw new Error(`the API key did not verify: ${JSON.stringify(verified)}`);
  if (hits[0]?.content !== 'neon signs glow all night downtown')
    throw new Error(`search found ${JSON.stringify(hits.map((hit) => hit.content))}`);
  console.log(`organization ${organization.slug}: API key verified, search found "${hits[0]?.content}"`);

  const { organizationId } = await seed(handle.db);
  const draft = insertBrandSchema.safeParse({ name: 'Consumer brand', slug: 'consumer-brand' });
  if (!draft.success) throw new Error(`validator refused a valid brand: ${draft.error.message}`);
  const brands = await withTenant(handle.db, organizationId, async (tx) => {
    const org = currentTenant(tx);
    const all = await tx.select().from(schema.brands).where(eq(schema.brands.organizationId, org));
    const first = all[0];
    if (!first) throw new Error('the seeded organization has no brand');
    return tx
      .select({ id: schema.brands.id, name: schema.brands.name })
      .from(schema.brands)
      .where(and(eq(schema.brands.organizationId, org), eq(schema.brands.id, first.id)));
  });
  if (brands.length !== 1) throw new Error(`expected one brand, got ${brands.length}`);
  // @ts-expect-error: the rows are typed on either Drizzle line (a name is a string), not `any`
  const typed: number | undefined = brands[0]?.name;
  console.log(`scoped read: 1 brand (${brands[0]?.name})`);
} finally {
  await handle.close();
}
TS
  # An app's own seed, run by `neonhub-db setup --seed` after the demo data (the documented hook).
  cat >"$1/src/seeds.ts" <<'TS'
import { currentTenant, type Database, schema, withTenant } from '@neonhub/db';
import { and, eq } from 'drizzle-orm';

export default async function seedApp(context: { db: Database; organizationId: string }): Promise<void> {
  const count = await withTenant(context.db, context.organizationId, async (tx) => {
    const org = currentTenant(tx);
    const rows = await tx
      .select({ id: schema.brands.id })
      .from(schema.brands)
      .where(and(eq(schema.brands.organizationId, org), eq(schema.brands.slug, 'neon')));
    return rows.length;
  });
  console.log(`app seed: sees ${count} demo brand`);
}
TS
}

# A consumer on drizzle-orm 1.0 reads the declarations built against 1.0 (the README says so).
drizzle1_conditions() { [[ $1 != *drizzle1 ]] || printf ',\n    "customConditions": ["drizzle-orm-1"]'; }

# consumer NAME MODULE RESOLUTION PEERS...
consumer() {
  local name="$1" module="$2" resolution="$3" dir="$WORK/$1"
  shift 3
  log "consumer $name: module $module, moduleResolution $resolution, peers: ${*:-as npm picks}"
  mkdir -p "$dir"
  cat >"$dir/package.json" <<JSON
{ "name": "consumer-$name", "private": true, "type": "module" }
JSON
  cat >"$dir/tsconfig.json" <<JSON
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2023"], "module": "$module", "moduleResolution": "$resolution",
    "types": ["node"], "strict": true, "noEmit": true, "verbatimModuleSyntax": true, "skipLibCheck": true$(drizzle1_conditions "$name")
  },
  "include": ["src"]
}
JSON
  write_service "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$TARBALL" "$@" \
    "typescript@$(dev_version typescript)" "tsx@$(dev_version tsx)" "@types/node@$(dev_version @types/node)") ||
    fail "$name: npm install"

  local copies
  for pkg in drizzle-orm @electric-sql/pglite; do
    copies="$(cd "$dir" && find . -type f -path "*/node_modules/$pkg/package.json" | wc -l)"
    [[ $copies == 1 ]] || fail "$name: $copies copies of $pkg in node_modules (want 1)"
  done
  log "$name: one drizzle-orm ($(node -p "require('$dir/node_modules/drizzle-orm/package.json').version")), one @electric-sql/pglite ($(node -p "require('$dir/node_modules/@electric-sql/pglite/package.json').version"))"

  (cd "$dir" && npx --no-install tsc -p tsconfig.json) || fail "$name: the service does not type-check"
  log "$name: the service type-checks"
  (cd "$dir" && npx --no-install tsx src/service.ts) || fail "$name: the service failed"
  local status
  status="$(cd "$dir" && NEONHUB_DATA_DIR=memory:// npx --no-install neonhub-db status)" || fail "$name: neonhub-db status"
  grep -q 'migrations: 0 applied' <<<"$status" || fail "$name: unexpected neonhub-db status output: $status"
  log "$name: neonhub-db status ok"
  local setup
  setup="$(cd "$dir" && NEONHUB_DATA_DIR=memory:// npx --no-install neonhub-db setup --seed src/seeds.ts)" ||
    fail "$name: neonhub-db setup --seed"
  grep -q 'app seed: sees 1 demo brand' <<<"$setup" || fail "$name: the app seed did not run: $setup"
  log "$name: neonhub-db setup --seed ran the app's seed"
}

# A deploy from the consumer's folder: drizzle-kit migrate with the package's drizzle.config.ts, on a new
# database of the server in PACK_DATABASE_URL (skipped, and said, without one); then neonhub-db status.
# kit_migrate NAME
kit_migrate() {
  local name="$1" dir="$WORK/$1" database="pack_consume_$1_$$" kit status
  if [[ -z ${PACK_DATABASE_URL:-} ]]; then log "$name: drizzle-kit migrate not run: no server (PACK_DATABASE_URL)"; return; fi
  local url="${PACK_DATABASE_URL%/*}/$database"
  admin() { (cd "$dir" && node --input-type=module -e "
    const sql = (await import('postgres')).default(process.argv[1], { max: 1, onnotice: () => {} });
    try { await sql.unsafe(process.argv[2]); } finally { await sql.end(); }" "$PACK_DATABASE_URL" "$1"); }
  admin "drop database if exists $database" && admin "create database $database" || fail "$name: create database"
  kit="$(node -p "require('$dir/node_modules/drizzle-kit/package.json').version")"
  (cd "$dir" && DATABASE_URL="$url" node node_modules/drizzle-kit/bin.cjs migrate \
    --config node_modules/@neonhub/db/drizzle.config.ts) || fail "$name: drizzle-kit $kit migrate"
  status="$(cd "$dir" && DATABASE_URL="$url" npx --no-install neonhub-db status)" || fail "$name: neonhub-db status after drizzle-kit"
  grep -q ", 0 pending" <<<"$status" || fail "$name: drizzle-kit $kit left migrations pending: $status"
  log "$name: drizzle-kit $kit migrate with the package's config: $(grep -o 'migrations: .*' <<<"$status")"
  # Studio from the drizzle-kit the consumer pairs with drizzle-orm: its API answers with the relations.
  studio="$(cd "$dir" && DATABASE_URL="$url" node --input-type=module -e "
    import { spawn } from 'node:child_process';
    import net from 'node:net';
    // A port nothing listens on now.
    const port = await new Promise((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    const child = spawn('node_modules/.bin/neonhub-db', ['studio', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('exit', (code) => { console.log('studio exited ' + code); process.exit(1); });
    let out = '';
    let asked = false;
    child.stdout.on('data', async (chunk) => {
      out += chunk;
      if (asked || !out.includes('Studio is running at')) return;
      asked = true;
      child.removeAllListeners('exit');
      try {
        const response = await fetch('http://127.0.0.1:' + port + '/', { method: 'POST',
          headers: { origin: 'https://local.drizzle.studio', 'content-type': 'application/json' }, body: '{\"type\":\"init\"}' });
        console.log('relations ' + (await response.json()).relations.length);
      } finally { child.kill(); process.exit(0); }
    });")" || fail "$name: neonhub-db studio: $studio"
  admin "drop database $database with (force)"
  grep -qE '^relations [1-9]' <<<"$studio" || fail "$name: neonhub-db studio answered: $studio"
  log "$name: neonhub-db studio with drizzle-kit $kit: $studio"
}

# A pnpm consumer with strict peers: any peer warning fails it (pglite-pgvector pins its PGlite).
# pnpm_consumer NAME DRIZZLE_ORM_SPEC
pnpm_consumer() {
  local name="$1" drizzle="$2" dir="$WORK/$1" output
  log "consumer $name: pnpm, strict peer dependencies, $drizzle, the other peers as pnpm picks"
  mkdir -p "$dir"
  cat >"$dir/package.json" <<JSON
{ "name": "consumer-$name", "private": true, "type": "module" }
JSON
  # drizzle-kit's esbuild runs its install script; pnpm asks for that to be said.
  printf 'packages: []\nstrictPeerDependencies: true\nallowBuilds:\n  esbuild: true\n' >"$dir/pnpm-workspace.yaml"
  cp "$WORK/$([[ $name == *drizzle1 ]] && echo drizzle1 || echo bundler)/tsconfig.json" "$dir/tsconfig.json"
  write_service "$dir"
  output="$(cd "$dir" && npx --yes "pnpm@$PNPM_VERSION" add "$TARBALL" "$drizzle" zod \
    "typescript@$(dev_version typescript)" "tsx@$(dev_version tsx)" "@types/node@$(dev_version @types/node)" 2>&1)" ||
    fail "$name: pnpm add: $output"
  if grep -qiE 'peer|WARN' <<<"$output"; then fail "$name: warnings: $output"; fi
  # pnpm keeps peers it installed itself out of the top level: their versions are in its store's names.
  log "$name: installed without a warning: $(cd "$dir/node_modules/.pnpm" && ls -d drizzle-orm@* @electric-sql+pglite@* @electric-sql+pglite-pgvector@* | tr '\n' ' ')"
  (cd "$dir" && npx --no-install tsc -p tsconfig.json) || fail "$name: the service does not type-check"
  (cd "$dir" && npx --no-install tsx src/service.ts) || fail "$name: the service failed"
  log "$name: the service type-checks and runs"
}

consumer nodenext NodeNext NodeNext "drizzle-orm@$(peer_floor drizzle-orm)" "zod@$(peer_floor zod)"
consumer bundler ESNext Bundler
kit_migrate bundler
consumer drizzle1 ESNext Bundler --legacy-peer-deps "drizzle-orm@$(peer_floor drizzle-orm 1)" "drizzle-kit@$(peer_floor drizzle-orm 1)" \
  "zod@$(peer_floor zod)" "@electric-sql/pglite@$(peer_floor @electric-sql/pglite)" \
  "@electric-sql/pglite-pgvector@$(peer_floor @electric-sql/pglite-pgvector)"
kit_migrate drizzle1
pnpm_consumer pnpm drizzle-orm
pnpm_consumer pnpm-drizzle1 "drizzle-orm@$(peer_floor drizzle-orm 1)"
log "ok"
