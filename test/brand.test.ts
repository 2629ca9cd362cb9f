import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/client/tenant.ts';
import {
  createBrand,
  createBrandVoice,
  findSimilarBrandVoices,
  getDefaultBrandVoice,
  setDefaultBrandVoice,
} from '../src/domains/brands.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { brands, brandVoices, type EmbeddingSpace, type StyleRules } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { insertBrandSchema, insertBrandVoiceSchema, styleRulesSchema } from '../src/validators/brand.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { localSpace, makeTenant } from './support/rag.ts';

const database = useTestDatabase();

let space: EmbeddingSpace;
let orgId: string;
let otherOrgId: string;

const rules = (tone: string[], preferred: string[] = []): StyleRules => ({
  tone,
  do: ['Be clear'],
  dont: ['Ramble'],
  preferredVocabulary: preferred,
  bannedVocabulary: ['synergy'],
  readingLevel: 'high_school',
});

beforeAll(async () => {
  space = await localSpace(database.current.db);
  orgId = await makeTenant(database.current.db, 'brand-a');
  otherOrgId = await makeTenant(database.current.db, 'brand-b');
});

describe('style rules and brand validators', () => {
  it('accepts complete rules and names what is wrong otherwise', () => {
    expect(styleRulesSchema.safeParse(rules(['warm'])).success).toBe(true);
    const both = styleRulesSchema.safeParse({ ...rules(['warm'], ['Synergy']) });
    expect(both.error?.issues[0]?.message).toBe('"Synergy" is both preferred and banned');
    expect(styleRulesSchema.safeParse({ ...rules(['warm']), readingLevel: 'phd' }).success).toBe(false);
    expect(styleRulesSchema.safeParse({ ...rules(['warm']), extra: true }).success).toBe(false);
    const { tone: _tone, ...missingTone } = rules(['warm']);
    expect(styleRulesSchema.safeParse(missingTone).success).toBe(false);
    expect(insertBrandSchema.safeParse({ slug: 'Not A Slug', name: 'x' }).success).toBe(false);
    expect(
      insertBrandSchema.safeParse({ slug: 'ok', name: 'x', website: 'javascript:alert(1)' }).success,
    ).toBe(false);
    const voice = {
      brandId: '0190aaaa-0000-7000-8000-000000000001',
      name: 'v',
      promptTemplate: 'p',
      styleRules: rules(['warm']),
    };
    expect(insertBrandVoiceSchema.safeParse(voice).success).toBe(true);
    expect(
      insertBrandVoiceSchema.safeParse({
        ...voice,
        embeddingSpaceId: space.id,
        embeddingDimensions: 2,
        embedding: [1],
      }).success,
    ).toBe(false);
    expect(insertBrandVoiceSchema.safeParse({ ...voice, examples: [{ input: 'no output' }] }).success).toBe(
      false,
    );
  });
});

describe('brands and voices', () => {
  it('keeps brand slugs unique per organization among live brands', async () => {
    const { db } = database.current;
    const first = await withTenant(db, orgId, (tx) => createBrand(tx, { slug: 'acme', name: 'Acme' }));
    await withTenant(db, otherOrgId, (tx) => createBrand(tx, { slug: 'acme', name: 'Acme elsewhere' }));
    const taken = await failure(
      withTenant(db, orgId, (tx) => createBrand(tx, { slug: 'acme', name: 'Again' })),
    );
    expect(taken.constraint).toBe('brands_organization_id_slug_key');
    await withTenant(db, orgId, (tx) =>
      tx.update(brands).set({ deletedAt: sql`now()` }).where(eq(brands.id, first.id)),
    );
    const reborn = await withTenant(db, orgId, (tx) => createBrand(tx, { slug: 'acme', name: 'Acme 2' }));
    expect(reborn.id).not.toBe(first.id);
    const bad = await failure(withTenant(db, orgId, (tx) => createBrand(tx, { slug: '-bad', name: 'x' })));
    expect(bad).toMatchObject({ kind: 'invalid_input', table: 'brands', column: 'slug' });
  });

  it('has one default voice per brand, switched by the API and enforced by the database', async () => {
    const { db } = database.current;
    await withTenant(db, orgId, async (tx) => {
      const brand = await createBrand(tx, { slug: 'voices', name: 'Voices' });
      expect(await getDefaultBrandVoice(tx, brand.id)).toBeUndefined();
      const playful = await createBrandVoice(tx, {
        brandId: brand.id,
        name: 'Playful',
        isDefault: true,
        promptTemplate: 'Be playful: {{task}}',
        styleRules: rules(['playful', 'warm'], ['glow']),
        embed: { spaceId: space.id, embedder: localEmbedder },
      });
      expect(playful).not.toHaveProperty('embedding');
      expect(playful.embeddingSpaceId).toBe(space.id);
      const formal = await createBrandVoice(tx, {
        brandId: brand.id,
        name: 'Formal',
        isDefault: true,
        promptTemplate: 'Be formal: {{task}}',
        styleRules: rules(['formal']),
      });
      expect((await getDefaultBrandVoice(tx, brand.id))?.id).toBe(formal.id);
      await setDefaultBrandVoice(tx, playful.id);
      const current = await getDefaultBrandVoice(tx, brand.id);
      expect(current?.id).toBe(playful.id);
      expect(current).not.toHaveProperty('embedding');
      const twice = await failure(
        tx.transaction((sp) =>
          sp.update(brandVoices).set({ isDefault: true }).where(eq(brandVoices.id, formal.id)),
        ),
      );
      expect(twice.constraint).toBe('brand_voices_organization_id_brand_id_default_key');
      // Refused inside its own savepoint: the scope goes on.
      const sameVersion = await failure(
        createBrandVoice(tx, {
          brandId: brand.id,
          name: 'Formal',
          promptTemplate: 'again',
          styleRules: rules(['formal']),
        }),
      );
      expect(sameVersion.constraint).toBe('brand_voices_organization_id_brand_id_name_version_key');
      expect((await getDefaultBrandVoice(tx, brand.id))?.id).toBe(playful.id);
    });
  });

  it('refuses voices with bad rules, wrong vectors, or another tenant brand, writing nothing', async () => {
    const { db } = database.current;
    const brand = await withTenant(db, orgId, (tx) => createBrand(tx, { slug: 'strict', name: 'Strict' }));
    const base = { brandId: brand.id, name: 'V', promptTemplate: 'p', styleRules: rules(['calm']) };
    const cases: [string, Parameters<typeof createBrandVoice>[1], RegExp][] = [
      [
        'banned and preferred',
        { ...base, styleRules: rules(['calm'], ['synergy']) },
        /both preferred and banned/,
      ],
      ['short vector', { ...base, embed: { spaceId: space.id, vector: [1, 2] } }, /2 dimensions .* 256/],
      [
        'NaN vector',
        { ...base, embed: { spaceId: space.id, vector: Array.from({ length: 256 }, () => Number.NaN) } },
        /component 0 is not a number/,
      ],
      [
        'unknown space',
        { ...base, embed: { spaceId: '0190aaaa-0000-7000-8000-0000000000ff', embedder: localEmbedder } },
        /unknown embedding space/,
      ],
      [
        'embedder of another length',
        { ...base, embed: { spaceId: space.id, embedder: createLocalEmbedder(16) } },
        /does not produce vectors/,
      ],
    ];
    await withTenant(db, orgId, async (tx) => {
      for (const [name, input, message] of cases) {
        const error = await failure(createBrandVoice(tx, input));
        console.log(`${name}: ${error.message}`);
        expect(error.message).toMatch(message);
      }
    });
    const foreign = await failure(withTenant(db, otherOrgId, (tx) => createBrandVoice(tx, base)));
    console.log(`another tenant's brand: ${foreign.message}`);
    expect(foreign.constraint).toBe('brand_voices_brand_id_fkey');
    const written = await withTenant(db, orgId, (tx) =>
      tx.$count(brandVoices, eq(brandVoices.brandId, brand.id)),
    );
    expect(written).toBe(0);
  });

  it('finds the voice a text sounds like, only among the tenant voices', async () => {
    const { db } = database.current;
    const made = await withTenant(db, orgId, async (tx) => {
      const brand = await createBrand(tx, { slug: 'similar', name: 'Similar' });
      const embed = { spaceId: space.id, embedder: localEmbedder };
      const playful = await createBrandVoice(tx, {
        brandId: brand.id,
        name: 'Sunny',
        promptTemplate: 'p',
        styleRules: rules(['playful', 'cheerful'], ['glow', 'sparkle']),
        examples: [{ output: 'Lace up, glow bright and sparkle on your morning run!' }],
        embed,
      });
      const formal = await createBrandVoice(tx, {
        brandId: brand.id,
        name: 'Board',
        promptTemplate: 'p',
        styleRules: rules(['formal', 'precise'], ['compliance', 'governance']),
        examples: [{ output: 'The board confirms full compliance with governance and audit requirements.' }],
        embed,
      });
      return { brand, playful, formal };
    });
    await withTenant(db, otherOrgId, async (tx) => {
      const brand = await createBrand(tx, { slug: 'intruder', name: 'Intruder' });
      await createBrandVoice(tx, {
        brandId: brand.id,
        name: 'Sunny twin',
        promptTemplate: 'p',
        styleRules: rules(['playful', 'cheerful'], ['glow', 'sparkle']),
        examples: [{ output: 'Lace up, glow bright and sparkle on your morning run!' }],
        embed: { spaceId: space.id, embedder: localEmbedder },
      });
    });
    const similar = await withTenant(db, orgId, (tx) =>
      findSimilarBrandVoices(tx, {
        spaceId: space.id,
        text: 'Glow and sparkle on the morning run!',
        embedder: localEmbedder,
        k: 3,
        brandId: made.brand.id,
      }),
    );
    console.log(similar.map((s) => `${s.voice.name}: ${s.score.toFixed(3)}`));
    expect(similar.map((s) => s.voice.id)).toEqual([made.playful.id, made.formal.id]);
    expect(similar[0]?.voice).not.toHaveProperty('embedding');
    const formalText = await withTenant(db, orgId, (tx) =>
      findSimilarBrandVoices(tx, {
        spaceId: space.id,
        text: 'audit and governance compliance report for the board',
        embedder: localEmbedder,
        k: 1,
      }),
    );
    expect(formalText[0]?.voice.id).toBe(made.formal.id);
    const error = await failure(
      withTenant(db, orgId, (tx) => findSimilarBrandVoices(tx, { spaceId: space.id, vector: [1], k: 1 })),
    );
    expect(error.message).toMatch(/1 dimensions but embedding space/);
  });
});
