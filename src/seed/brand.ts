import type { Database, Transaction } from '../client/client.ts';
import { voiceText } from '../domains/brands.ts';
import { createLocalEmbedder } from '../rag/embedder.ts';
import { findEmbeddingSpace, registerEmbeddingSpace } from '../rag/embedding-spaces.ts';
import { brands, brandVoices, type EmbeddingSpace, type StyleRules } from '../schema/index.ts';
import { type DomainSeed, insertNew, type SeedContext } from './context.ts';

/** The space of the local embedder (src/rag/embedder.ts): seeds and tests embed without a model download. */
export const LOCAL_EMBEDDING_SPACE = {
  provider: 'neonhub-local',
  model: 'feature-hash-v1',
  dimensions: 256,
  distance: 'cosine',
} as const;

export const localEmbedder = createLocalEmbedder(LOCAL_EMBEDDING_SPACE.dimensions);

/** A second local space (the same model at 128 dimensions): the demo's pending re-embedding moves to it. */
export const NEXT_LOCAL_EMBEDDING_SPACE = { ...LOCAL_EMBEDDING_SPACE, dimensions: 128 } as const;
export const nextLocalEmbedder = createLocalEmbedder(NEXT_LOCAL_EMBEDDING_SPACE.dimensions);

/** The registered local space (the global seed registers it first). */
export async function localEmbeddingSpace(db: Database | Transaction): Promise<EmbeddingSpace> {
  const space = await findEmbeddingSpace(db, LOCAL_EMBEDDING_SPACE);
  if (!space) throw new Error('the local embedding space is not registered: run the global seed first');
  return space;
}

const defaultRules: StyleRules = {
  tone: ['confident', 'warm', 'playful'],
  do: ['Lead with the benefit', 'Use short sentences', 'Address the reader as you'],
  dont: ['Use jargon', 'Make promises we cannot keep', 'Shout in all caps'],
  preferredVocabulary: ['glow', 'launch', 'bright', 'together'],
  bannedVocabulary: ['synergy', 'disrupt', 'cheap'],
  readingLevel: 'middle_school',
};

const formalRules: StyleRules = {
  tone: ['precise', 'formal', 'reassuring'],
  do: ['State facts and figures', 'Cite sources', 'Keep a neutral register'],
  dont: ['Use slang', 'Use exclamation marks'],
  preferredVocabulary: ['reliable', 'compliance', 'security'],
  bannedVocabulary: ['awesome', 'crazy'],
  readingLevel: 'professional',
};

/** The fixed ids of the seeded brand and its voices, for the seeds that reference them. */
export const brandSeedIds = (ctx: SeedContext) => ({
  brand: ctx.id('brand', 'neon'),
  playfulVoice: ctx.id('brand_voice', 'neon-playful'),
  formalVoice: ctx.id('brand_voice', 'neon-formal'),
});

async function seedBrands(tx: Transaction, ctx: SeedContext) {
  const space = await localEmbeddingSpace(tx);
  const brandId = brandSeedIds(ctx).brand;
  const brandCount = await insertNew(tx, brands, [
    {
      id: brandId,
      slug: 'neon',
      name: `${ctx.slug === 'demo' ? 'Neon' : ctx.slug} Brand`,
      description: 'Bright, friendly marketing for everyday runners.',
      website: `https://${ctx.slug}.example`,
      industry: 'Sportswear',
    },
  ]);
  const voices = [
    {
      id: brandSeedIds(ctx).playfulVoice,
      brandId,
      name: 'Playful launch voice',
      isDefault: true,
      promptTemplate: 'Write as {{brand}}: confident, warm and playful. Task: {{task}}',
      styleRules: defaultRules,
      examples: [
        { output: 'Lace up and glow: our spring running shoes launch today, bright as your morning run.' },
        {
          input: 'Tweet about the sale',
          output: 'Run together, glow together. 20% off every running shoe this week.',
          channel: 'social',
        },
      ],
    },
    {
      id: brandSeedIds(ctx).formalVoice,
      brandId,
      name: 'Formal corporate voice',
      isDefault: false,
      promptTemplate: 'Write as {{brand}} for investors and partners, precise and formal. Task: {{task}}',
      styleRules: formalRules,
      examples: [
        { output: 'Our quarterly results reflect reliable growth, strong security and full compliance.' },
      ],
    },
  ];
  const voiceCount = await insertNew(
    tx,
    brandVoices,
    voices.map((voice) => ({
      ...voice,
      embeddingSpaceId: space.id,
      embeddingDimensions: space.dimensions,
      embedding: localEmbedder.embed(voiceText(voice)),
    })),
  );
  return { brands: brandCount, brand_voices: voiceCount };
}

/** The local embedding spaces (with their indexes), a brand, and its default and formal voices, embedded. */
export const brandSeed: DomainSeed = {
  name: 'brand',
  async global(db) {
    let created = 0;
    for (const space of [LOCAL_EMBEDDING_SPACE, NEXT_LOCAL_EMBEDDING_SPACE]) {
      if (!(await findEmbeddingSpace(db, space))) created++;
      await registerEmbeddingSpace(db, space);
    }
    return { embedding_spaces: created };
  },
  tenant: seedBrands,
};
