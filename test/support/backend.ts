export type TestBackend =
  | { kind: 'server'; url: string; template: string }
  // dataDir: a migrated data dir on disk, closed; each file opens a copy of it in memory.
  | { kind: 'pglite'; dataDir: string };

/** The same server URL pointing at another database. */
export function adminUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
