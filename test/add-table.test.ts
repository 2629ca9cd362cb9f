// Adding a tenant table the README's way, in a scratch copy of the project: `npm run db:generate`
// writes the table's migration and the hooks step after it, and the table works inside withTenant.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import { text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTenant, withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { migrate } from '../src/operator/migrate.ts';
import { findTableHookGaps } from '../src/operator/table-hooks.ts';
import { timestamps } from '../src/schema/columns.ts';
import { users } from '../src/schema/index.ts';
import { tenantTable } from '../src/schema/tenancy.ts';
import { useTestDatabase } from './support/database.ts';
import { drizzleKitGenerates } from './support/drizzle-line.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const database = useTestDatabase();

// The table the scratch copy adds (its module text below), declared here too for typed queries.
const notes = tenantTable('notes', {
  title: text('title').notNull(),
  ...timestamps(),
});

const notesModule = `import { text } from 'drizzle-orm/pg-core';
import { timestamps } from './columns.ts';
import { tenantTable } from './tenancy.ts';

export const notes = tenantTable('notes', {
  title: text('title').notNull(),
  ...timestamps(),
});
`;

type Journal = { entries: { tag: string }[] };
const readJournal = (folder: string): Journal =>
  JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8'));

let scratch = '';
let generated: { stdout: string; stderr: string; status: number | null };
let addedTags: string[] = [];

describe.skipIf(!drizzleKitGenerates)(
  'adding a tenant table (drizzle-orm 0.45 only: drizzle-kit 1.0 reads another migrations folder format)',
  () => {
    // The scratch copy lives under .scratch/ in the project, so it resolves the project's node_modules.
    beforeAll(() => {
      mkdirSync(path.join(root, '.scratch'), { recursive: true });
      scratch = mkdtempSync(path.join(root, '.scratch', 'add-table-'));
      for (const entry of ['src', 'drizzle', 'drizzle.config.ts', 'package.json'])
        cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
      writeFileSync(path.join(scratch, 'src', 'schema', 'notes.ts'), notesModule);
      writeFileSync(
        path.join(scratch, 'src', 'schema', 'index.ts'),
        `${readFileSync(path.join(scratch, 'src', 'schema', 'index.ts'), 'utf8')}export * from './notes.ts';\n`,
      );
      const before = readJournal(path.join(scratch, 'drizzle')).entries.length;
      const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, ...env } = process.env;
      generated = spawnSync(
        tsx,
        [path.join(scratch, 'src', 'cli', 'cli.ts'), 'generate', '--name', 'add_notes'],
        {
          cwd: scratch,
          env,
          encoding: 'utf8',
        },
      );
      addedTags = readJournal(path.join(scratch, 'drizzle'))
        .entries.slice(before)
        .map((entry) => entry.tag);
    }, 60_000);

    afterAll(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('db:generate writes the table migration and a hooks step after it', () => {
      expect(generated.status, generated.stderr).toBe(0);
      expect(addedTags).toHaveLength(2);
      expect(addedTags[0]).toMatch(/_add_notes$/);
      expect(addedTags[1]).toMatch(/_add_notes_hooks$/);
      const folder = path.join(scratch, 'drizzle');
      expect(readFileSync(path.join(folder, `${addedTags[0]}.sql`), 'utf8')).toContain(
        'CREATE TABLE "notes"',
      );
      expect(readFileSync(path.join(folder, `${addedTags[1]}.sql`), 'utf8')).toContain(
        'SELECT app_install_table_hooks();',
      );
    });

    it('without the hooks step the table is unusable, and the check names what it lacks; with it, it works', async () => {
      const { db, sql } = database.current;
      // The table migration alone: a copy of the folder whose journal stops before the hooks step.
      const withoutHooks = path.join(scratch, 'drizzle-without-hooks');
      cpSync(path.join(scratch, 'drizzle'), withoutHooks, { recursive: true });
      const journal = readJournal(withoutHooks);
      journal.entries = journal.entries.filter((entry) => entry.tag !== addedTags[1]);
      writeFileSync(path.join(withoutHooks, 'meta', '_journal.json'), JSON.stringify(journal));
      expect((await migrate(database.current, { migrationsFolder: withoutHooks })).applied).toEqual([
        addedTags[0],
      ]);

      const [owner] = await db.insert(users).values({ email: 'notes-owner@example.com' }).returning();
      const { organization } = await createOrganization(db, {
        slug: 'notes-co',
        name: 'Notes Co',
        ownerUserId: owner?.id ?? '',
      });
      const { organization: other } = await createOrganization(db, {
        slug: 'other-notes-co',
        name: 'Other Notes Co',
        ownerUserId: owner?.id ?? '',
      });

      expect(await findTableHookGaps(sql)).toEqual([
        {
          table: 'notes',
          missing: [
            'row-level security not forced',
            'no notes_touch_updated_at trigger',
            'no SELECT, INSERT, UPDATE, DELETE grant for neonhub_app',
          ],
        },
      ]);
      const refused = await withTenant(db, organization.id, (tx) => tx.select().from(notes)).catch(
        (error: unknown) => error,
      );
      expect(String((refused as Error).message)).toMatch(/permission denied.*notes/);

      expect(
        (await migrate(database.current, { migrationsFolder: path.join(scratch, 'drizzle') })).applied,
      ).toEqual([addedTags[1]]);
      expect(await findTableHookGaps(sql)).toEqual([]);

      const written = await withTenant(db, organization.id, async (tx) => {
        const org = currentTenant(tx);
        const [note] = await tx
          .insert(notes)
          .values({ organizationId: org, title: 'First note' })
          .returning();
        if (!note) throw new Error('no note returned');
        return note;
      });
      const updated = await withTenant(db, organization.id, async (tx) => {
        const org = currentTenant(tx);
        // An old updated_at in the UPDATE itself: the trigger replaces it with the time of the change.
        const [note] = await tx
          .update(notes)
          .set({ title: 'First note, edited', updatedAt: new Date('2000-01-01T00:00:00Z') })
          .where(and(eq(notes.organizationId, org), eq(notes.id, written.id)))
          .returning();
        return note;
      });
      expect(updated?.title).toBe('First note, edited');
      expect(updated?.updatedAt.getTime()).toBeGreaterThanOrEqual(written.updatedAt.getTime());

      // The other tenant sees none of it, and RLS is forced even for the owner role.
      const seenByOther = await withTenant(db, other.id, (tx) =>
        tx
          .select()
          .from(notes)
          .where(eq(notes.organizationId, currentTenant(tx))),
      );
      expect(seenByOther).toHaveLength(0);
      const seenByOwn = await withTenant(db, organization.id, (tx) =>
        tx
          .select()
          .from(notes)
          .where(eq(notes.organizationId, currentTenant(tx))),
      );
      expect(seenByOwn).toHaveLength(1);
    });
  },
);
