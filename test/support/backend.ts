export type TestBackend =
  | { kind: 'server'; url: string; template: string }
  | { kind: 'pglite'; dataDirDump: string };

/** The same server URL pointing at another database. */
export function adminUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
