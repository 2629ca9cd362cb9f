import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '../base/errors.ts';

// The migrations on disk: drizzle/ as drizzle-kit 0.31 writes it (a journal and one SQL file per
// migration), and the same migrations laid out as drizzle-kit 1.0 reads them (one folder each).

/** The `drizzle/` folder shipped with the package (one level up from both `src/` and `dist/`). */
export const defaultMigrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface Migration {
  tag: string;
  /**
   * The folder drizzle-kit 1.0 keeps the migration in (`<UTC second of when>_<tag without its number>`),
   * which drizzle-orm 1.0's migrator records as `name` in the ledger and identifies it by.
   */
  name: string;
  /** The journal's `when`, which drizzle records as `created_at` in its ledger. */
  createdAt: number;
  /** sha256 of the file, as drizzle-kit computes it. */
  hash: string;
  statements: string[];
}

/** drizzle-kit 1.0's folder name for a journal entry, as its `drizzle-kit up` names it. */
export function drizzleKit1Name(tag: string, when: number): string {
  const second = new Date(when).toISOString().slice(0, 19).replace(/\D/g, '');
  return `${second}_${tag.split('_').slice(1).join('_')}`;
}

const journalEntries = (folder: string): { tag: string; when: number }[] => {
  const journalPath = path.join(folder, 'meta', '_journal.json');
  try {
    return JSON.parse(readFileSync(journalPath, 'utf8')).entries;
  } catch (error) {
    throw new MigrationError(`cannot read the migration journal ${journalPath}`, undefined, undefined, error);
  }
};

const sqlOf = (folder: string, tag: string) => readFileSync(path.join(folder, `${tag}.sql`), 'utf8');

/** The journal and SQL files of a migrations folder, split into statements. */
export function readMigrations(folder = defaultMigrationsFolder): Migration[] {
  return journalEntries(folder).map((entry) => {
    const text = sqlOf(folder, entry.tag);
    return {
      tag: entry.tag,
      name: drizzleKit1Name(entry.tag, entry.when),
      createdAt: entry.when,
      hash: createHash('sha256').update(text).digest('hex'),
      statements: text.split('--> statement-breakpoint').filter((statement) => statement.trim() !== ''),
    };
  });
}

/**
 * Writes the migrations of `from` into `out` as drizzle-kit 1.0 reads them: `<name>/migration.sql`,
 * byte for byte (so the ledger's hashes agree), in the order of the journal. Returns the names.
 * drizzle-kit 1.0 migrates from such a folder; it generates only beside snapshots, which stay in drizzle/.
 */
export function writeDrizzleKit1Migrations(out: string, from = defaultMigrationsFolder): string[] {
  const entries = journalEntries(from);
  const names = entries.map((entry) => drizzleKit1Name(entry.tag, entry.when));
  // drizzle-orm 1.0 applies the folders in name order: it must be the journal's.
  const misplaced = names.findIndex((name, index) => index > 0 && name <= (names[index - 1] as string));
  if (misplaced >= 0)
    throw new MigrationError(
      `migration ${entries[misplaced]?.tag} would run out of order under drizzle-kit 1.0, which orders by folder name`,
      entries[misplaced]?.tag,
    );
  for (const [index, entry] of entries.entries()) {
    const folder = path.join(out, names[index] as string);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'migration.sql'), sqlOf(from, entry.tag));
  }
  return names;
}

/**
 * A new folder of `from`'s migrations as drizzle-kit 1.0 reads them, private to this process (a
 * folder others can write to could hand the migrating role their SQL) and removed when it exits:
 * drizzle/ stays the one copy in the package.
 */
export function drizzleKit1Folder(from = defaultMigrationsFolder): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'neonhub-db-drizzle-kit-1-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  writeDrizzleKit1Migrations(folder, from);
  return folder;
}
