import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolExecutionsQuery } from '../src/agents/agent-runs.ts';
import { runPrepared, withTenant } from '../src/client/tenant.ts';
import { createBrand, getDefaultBrandVoice } from '../src/domains/brands.ts';
import { brands } from '../src/schema/index.ts';
import { onServer, openTestDatabase } from './support/database.ts';
import { statementCaptureRuns } from './support/drizzle-line.ts';
import { makeTenant } from './support/rag.ts';
import {
  type CapturedStatement,
  captureFileSuffix,
  type StatementCapture,
} from './support/statement-capture.ts';
import { checkStatementText, loadParser } from './support/tenant-statements.ts';

// The tenant check trusts the capture to tell the package's statements from the tests' own: each
// shape a query can take is sent once here and must come out with the right origin.
const dir = mkdtempSync(path.join(tmpdir(), 'neonhub-capture-'));
let statements: CapturedStatement[] = [];

function sent(pattern: RegExp): CapturedStatement {
  const found = statements.filter((statement) => pattern.test(statement.text));
  expect(found, String(pattern)).toHaveLength(1);
  return found[0] as CapturedStatement;
}

const nearestFunction = (statement: CapturedStatement) => statement.frames[0]?.split('@')[0];

describe.skipIf(!statementCaptureRuns)(
  "statement capture (drizzle-orm 0.45 only: it follows that line's query builders)",
  () => {
    beforeAll(async () => {
      const database = await openTestDatabase({ captureStatementsTo: dir });
      try {
        const organizationId = await makeTenant(database.db, 'capture');
        const preparedOnce = database.db
          .select({ marker: sql`'prepared once'` })
          .from(brands)
          .where(eq(brands.organizationId, sql.placeholder('organizationId')))
          .prepare('capture_prepared_once');
        await withTenant(database.db, organizationId, async (tx) => {
          const brand = await createBrand(tx, { slug: 'capture', name: 'Capture' });
          await Promise.all([
            getDefaultBrandVoice(tx, brand.id),
            tx.select({ marker: sql`'promise-all'` }).from(brands),
          ]);
          await tx.select({ marker: sql`'awaited'` }).from(brands);
          await tx.select({ marker: sql`'execute'` }).from(brands).execute();
          await tx.execute(sql`select 'raw' as marker from brands`);
          await toolExecutionsQuery(tx, brand.id);
          await tx
            .select({ marker: sql`'prepared'` })
            .from(brands)
            .where(eq(brands.organizationId, sql.placeholder('organizationId')))
            .prepare('capture_prepared')
            .execute({ organizationId });
          await runPrepared(tx, preparedOnce, { organizationId });
        });
        await withTenant(database.db, organizationId, (tx) =>
          tx.select({ marker: sql`'handed'` }).from(brands),
        );
        await database.sql.query(`select 'raw helper' as marker`);
      } finally {
        await database.close();
      }
      const [file] = readdirSync(dir).filter((name) => name.endsWith(captureFileSuffix));
      statements = (JSON.parse(readFileSync(path.join(dir, file ?? ''), 'utf8')) as StatementCapture)
        .statements;
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it('names the package function behind an awaited call, in Promise.all too', () => {
      expect(sent(/^insert into "brands"/)).toMatchObject({ origin: 'package', count: 1 });
      expect(nearestFunction(sent(/^insert into "brands"/))).toBe('createBrand');
      expect(nearestFunction(sent(/from "brand_voices" where/))).toBe('getDefaultBrandVoice');
    });

    it('gives a query an API function builds to the package, whoever runs it', () => {
      const query = sent(/from "tool_executions"/);
      expect(query.origin).toBe('package');
      expect(nearestFunction(query)).toBe('toolExecutionsQuery');
    });

    it("gives the test's own statements to the test: awaited, .execute(), Promise.all, raw sql, handed to the package, prepared, prepared once", () => {
      for (const marker of [
        'promise-all',
        'awaited',
        'execute',
        'raw',
        'handed',
        'raw helper',
        'prepared',
        'prepared once',
      ]) {
        expect(sent(new RegExp(`'${marker}'`)), marker).toMatchObject({
          origin: 'consumer',
          site: expect.stringMatching(/^test\/statement-capture\.test\.ts:\d+$/),
        });
      }
    });

    it('sees the tenant in a prepared query: its placeholder is a bind parameter on organization_id', async () => {
      await loadParser();
      for (const marker of ['prepared', 'prepared once']) {
        const [verdict] = checkStatementText(
          sent(new RegExp(`'${marker}'`)).text,
          new Map([['brands', 'organization_id']]),
        );
        expect(verdict, marker).toMatchObject({ touchesTenantTable: true, problems: [] });
      }
      // Control: the same check flags a statement that leaves the tenant out.
      const [flagged] = checkStatementText(
        `select 'prepared' from brands`,
        new Map([['brands', 'organization_id']]),
      );
      expect(flagged?.problems).not.toEqual([]);
    });

    it("leaves the driver's own transaction statements to nobody", () => {
      const transactionControl = statements.filter((statement) =>
        /^(begin|commit)\b/i.test(statement.text.trim()),
      );
      // postgres.js sends BEGIN and COMMIT as statements; PGlite opens and ends its transactions unseen.
      expect(transactionControl.length > 0).toBe(onServer);
      for (const statement of transactionControl) expect(statement.origin).toBe('unattributed');
    });
  },
);
