import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InputError, parseInput } from '../src/base/input.ts';
import type { Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { brands, campaigns, organizations, roles, users } from '../src/schema/index.ts';
import {
  insertBrandSchema,
  insertCampaignSchema,
  insertOrganizationSchema,
  insertRoleSchema,
  insertUserSchema,
} from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

/** Whether the database stores a row: tried in a transaction that is always rolled back. */
async function stored(
  organizationId: string,
  write: (tx: Transaction) => Promise<unknown>,
): Promise<boolean> {
  let accepted = false;
  await withTenant(database.current.db, organizationId, async (tx) => {
    await write(tx);
    accepted = true;
    tx.rollback();
  }).catch(() => {});
  return accepted;
}

// Text drawn from the characters the patterns care about, mixed with well-formed values, so both
// sides of every rule get exercised.
const tricky = fc.string({
  unit: fc.constantFrom('a', 'z', '0', '9', '-', '_', 'A', ' ', '@', '.', 'é', '\n'),
  maxLength: 70,
});
const slugs = fc.oneof(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/), tricky);
const roleKeys = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{1,20}$/), tricky);
const names = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), tricky);

describe('validators and the database agree', () => {
  it('what a validator accepts the database stores (organizations, users, roles)', async () => {
    const { db } = database.current;
    const [owner] = await db.insert(users).values({ email: 'props@example.com' }).returning();
    const { organization } = await createOrganization(db, {
      slug: 'props',
      name: 'Props',
      ownerUserId: owner?.id ?? '',
    });
    const tally = {
      cases: 0,
      bothAccept: 0,
      bothReject: 0,
      onlyDatabaseAccepts: 0,
      onlyValidatorAccepts: [] as unknown[],
    };
    const record = (validator: boolean, databaseAccepts: boolean, input: unknown) => {
      tally.cases++;
      if (validator && databaseAccepts) tally.bothAccept++;
      else if (!validator && !databaseAccepts) tally.bothReject++;
      else if (databaseAccepts) tally.onlyDatabaseAccepts++;
      else tally.onlyValidatorAccepts.push(input);
    };
    await fc.assert(
      fc.asyncProperty(
        slugs,
        names,
        fc.constantFrom('us', 'eu', 'eu-west', 'US', 'e', 'ap-south-1', ''),
        async (slug, name, dataRegion) => {
          // Organizations are founded by a definer function: here the login itself (the owner) writes
          // the row, in a transaction that is rolled back.
          const input = { id: crypto.randomUUID(), slug, name, dataRegion };
          const validator = insertOrganizationSchema.safeParse(input).success;
          let databaseAccepts = false;
          await db
            .transaction(async (tx) => {
              await tx.insert(organizations).values(input);
              databaseAccepts = true;
              tx.rollback();
            })
            .catch(() => {});
          record(validator, databaseAccepts, input);
        },
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(tricky, fc.emailAddress()), async (email) => {
        const input = { email };
        const validator = insertUserSchema.safeParse(input).success;
        let databaseAccepts = false;
        await db
          .transaction(async (tx) => {
            await tx.insert(users).values(input);
            databaseAccepts = true;
            tx.rollback();
          })
          .catch(() => {});
        record(validator, databaseAccepts, input);
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(roleKeys, names, async (key, name) => {
        const input = { key, name, organizationId: organization.id };
        const validator = insertRoleSchema.safeParse(input).success;
        record(validator, await stored(organization.id, (tx) => tx.insert(roles).values(input)), input);
      }),
      { numRuns: 100 },
    );
    console.log(
      `validators vs database: ${tally.cases} cases, ${tally.bothAccept} accepted by both, ${tally.bothReject} refused by both, ${tally.onlyDatabaseAccepts} refused only by the stricter validator, ${tally.onlyValidatorAccepts.length} accepted by the validator but refused by the database`,
    );
    expect(tally.onlyValidatorAccepts).toEqual([]);
    expect(tally.bothAccept).toBeGreaterThan(20);
    expect(tally.bothReject).toBeGreaterThan(20);
  });

  it('what a validator accepts the database stores (brands, campaigns with money and dates)', async () => {
    const { db } = database.current;
    const [owner] = await db.insert(users).values({ email: 'money@example.com' }).returning();
    const { organization } = await createOrganization(db, {
      slug: 'money',
      name: 'Money',
      ownerUserId: owner?.id ?? '',
    });
    const [brand] = await withTenant(db, organization.id, (tx) =>
      tx.insert(brands).values({ slug: 'base', name: 'Base' }).returning(),
    );
    let cases = 0;
    let bothAccept = 0;
    let bothReject = 0;
    const onlyValidator: unknown[] = [];
    const money = fc.oneof(
      fc.stringMatching(/^\d{1,12}(\.\d{1,2})?$/),
      fc.constantFrom('-1.00', '1.005', '1e3', '', ' 12', '999999999999.99', '1000000000000.00', 'NaN'),
    );
    const currency = fc.constantFrom('USD', 'EUR', 'usd', 'EU', 'EURO', '', '12A');
    const day = fc.integer({ min: 0, max: 60 }).map((n) => new Date(Date.UTC(2026, 0, 1 + n)));
    await fc.assert(
      fc.asyncProperty(
        slugs,
        names,
        fc.option(money),
        fc.option(currency),
        fc.option(day),
        fc.option(day),
        async (slug, name, budget, code, startsAt, endsAt) => {
          const input = { brandId: brand?.id ?? '', slug, name, budget, currency: code, startsAt, endsAt };
          const validator = insertCampaignSchema.safeParse(input).success;
          const databaseAccepts = await stored(organization.id, (tx) => tx.insert(campaigns).values(input));
          cases++;
          if (validator && databaseAccepts) bothAccept++;
          else if (!validator && !databaseAccepts) bothReject++;
          else if (validator) onlyValidator.push(input);
        },
      ),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(slugs, names, async (slug, name) => {
        const input = { slug, name };
        const validator = insertBrandSchema.safeParse(input).success;
        const databaseAccepts = await stored(organization.id, (tx) => tx.insert(brands).values(input));
        cases++;
        if (validator && databaseAccepts) bothAccept++;
        else if (!validator && !databaseAccepts) bothReject++;
        else if (validator) onlyValidator.push(input);
      }),
      { numRuns: 100 },
    );
    console.log(
      `validators vs database (brands, campaigns): ${cases} cases, ${bothAccept} accepted by both, ${bothReject} refused by both, ${onlyValidator.length} accepted by the validator but refused by the database`,
    );
    expect(onlyValidator).toEqual([]);
    expect(bothAccept).toBeGreaterThan(20);
    expect(bothReject).toBeGreaterThan(20);
  });
});

describe('parseInput', () => {
  it('refuses input nested too deeply for a recursive schema with an InputError, not a RangeError', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    // Positive control: the bare schema does overflow.
    expect(() => z.json().safeParse(deep)).toThrow(RangeError);
    const error = (() => {
      try {
        parseInput(z.json(), deep, 'tool_executions', 'output');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      'invalid input (table tool_executions): output: nested too deeply',
    );
  });
});
