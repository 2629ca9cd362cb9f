import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput, isUuid } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { refuseIssues } from '../rag/datasets.ts';
import {
  assertEmbedderFits,
  assertVector,
  type Embedder,
  getEmbeddingSpace,
  scoreSql,
} from '../rag/embedding-spaces.ts';
import { assertK, type QueryVector, resolveQueryVector } from '../rag/search-input.ts';
import {
  type NearestPlan,
  nearestSql,
  planNearest,
  runNearest,
  type VectorSearchOptions,
} from '../rag/vector-query.ts';
import {
  type Brand,
  type BrandVoice,
  type BrandVoiceExample,
  brands,
  brandVoices,
  type NewBrand,
  type StyleRules,
} from '../schema/index.ts';
import { insertBrandSchema, insertBrandVoiceSchema } from '../validators/brand.ts';

/** A brand voice as APIs show it: never the embedding. */
export type BrandVoiceSummary = Omit<BrandVoice, 'embedding'>;

const { embedding: _embedding, ...voiceColumns } = getTableColumns(brandVoices);

/** Creates a brand of the current tenant. */
export async function createBrand(
  tx: Transaction,
  input: Pick<NewBrand, 'slug' | 'name' | 'description' | 'website' | 'industry' | 'status'>,
): Promise<Brand> {
  refuseIssues('brands', insertBrandSchema.safeParse(input));
  const org = currentTenant(tx);
  try {
    const [row] = await tx
      .insert(brands)
      .values({ ...input, organizationId: org })
      .returning();
    if (!row) throw new Error('brand insert returned no row');
    return row;
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** The text a voice is embedded from: its name, tone, rules, vocabulary and example outputs. */
export function voiceText(voice: {
  name: string;
  styleRules: StyleRules;
  examples?: BrandVoiceExample[];
}): string {
  const rules = voice.styleRules;
  return [
    voice.name,
    rules.tone.join(', '),
    rules.do.join('. '),
    rules.preferredVocabulary.join(', '),
    ...(voice.examples ?? []).map((example) => example.output),
  ]
    .filter((part) => part.trim() !== '')
    .join('\n');
}

export interface CreateBrandVoiceInput {
  brandId: string;
  name: string;
  version?: number;
  /** Makes this the brand's default voice (the previous default stops being one). */
  isDefault?: boolean;
  promptTemplate: string;
  styleRules: StyleRules;
  examples?: BrandVoiceExample[];
  /** Embeds the voice into a space: by `embedder` from {@link voiceText}, or a given vector. */
  embed?: { spaceId: string; embedder: Embedder } | { spaceId: string; vector: number[] };
}

/** Creates a voice of a brand of the current tenant, embedded when `embed` is given. */
export async function createBrandVoice(
  tx: Transaction,
  input: CreateBrandVoiceInput,
): Promise<BrandVoiceSummary> {
  const { embed, ...fields } = input;
  refuseIssues('brand_voices', insertBrandVoiceSchema.safeParse(fields));
  const org = currentTenant(tx);
  try {
    let embedding: Pick<BrandVoice, 'embeddingSpaceId' | 'embeddingDimensions' | 'embedding'> = {
      embeddingSpaceId: null,
      embeddingDimensions: null,
      embedding: null,
    };
    if (embed) {
      const space = await getEmbeddingSpace(tx, embed.spaceId, 'brand_voices');
      let vector: unknown;
      if ('embedder' in embed) {
        assertEmbedderFits(embed.embedder, space, 'brand_voices');
        [vector] = await embed.embedder.embedMany([voiceText(input)]);
      } else vector = embed.vector;
      assertVector(vector, space, 'brand_voices');
      embedding = { embeddingSpaceId: space.id, embeddingDimensions: space.dimensions, embedding: vector };
    }
    return await tx.transaction(async (sp) => {
      if (input.isDefault) await clearDefaultVoice(sp, org, input.brandId);
      const [row] = await sp
        .insert(brandVoices)
        .values({ ...fields, ...embedding, organizationId: org })
        .returning(voiceColumns);
      if (!row) throw new Error('brand voice insert returned no row');
      return row;
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** The brand's default voice stops being one (the partial unique index allows one per brand). */
function clearDefaultVoice(tx: Transaction, organizationId: string, brandId: string) {
  return tx
    .update(brandVoices)
    .set({ isDefault: false })
    .where(
      and(
        eq(brandVoices.organizationId, organizationId),
        eq(brandVoices.brandId, brandId),
        eq(brandVoices.isDefault, true),
      ),
    );
}

/** The default voice of a brand of the current tenant, or undefined when it has none. */
export async function getDefaultBrandVoice(
  tx: Transaction,
  brandId: string,
): Promise<BrandVoiceSummary | undefined> {
  if (!isUuid(brandId))
    throw invalidInput('brand_voices', 'brand_id', `brand id must be a UUID, got ${String(brandId)}`);
  const [row] = await tx
    .select(voiceColumns)
    .from(brandVoices)
    .where(
      and(
        eq(brandVoices.organizationId, currentTenant(tx)),
        eq(brandVoices.brandId, brandId),
        eq(brandVoices.isDefault, true),
      ),
    );
  return row;
}

/** Makes a voice its brand's default (one statement clears the old default, the next sets the new). */
export async function setDefaultBrandVoice(tx: Transaction, voiceId: string): Promise<BrandVoiceSummary> {
  if (!isUuid(voiceId))
    throw invalidInput('brand_voices', 'id', `voice id must be a UUID, got ${String(voiceId)}`);
  const org = currentTenant(tx);
  try {
    return await tx.transaction(async (sp) => {
      const [voice] = await sp
        .select({ brandId: brandVoices.brandId })
        .from(brandVoices)
        .where(and(eq(brandVoices.organizationId, org), eq(brandVoices.id, voiceId)));
      if (!voice)
        throw invalidInput(
          'brand_voices',
          'id',
          `brand voice ${voiceId} does not exist in this organization`,
        );
      await clearDefaultVoice(sp, org, voice.brandId);
      const [row] = await sp
        .update(brandVoices)
        .set({ isDefault: true })
        .where(and(eq(brandVoices.organizationId, org), eq(brandVoices.id, voiceId)))
        .returning(voiceColumns);
      if (!row) throw new Error('brand voice update returned no row');
      return row;
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export type SimilarVoicesInput = QueryVector &
  VectorSearchOptions & {
    spaceId: string;
    /** Default 5; 1..1000. */
    k?: number;
    /** Only voices of this brand. */
    brandId?: string;
  };

export interface SimilarVoice {
  voice: BrandVoiceSummary;
  distance: number;
  /** Larger is better (cosine similarity for cosine spaces). */
  score: number;
}

/**
 * The current tenant's brand voices nearest to a text (embedded by `embedder`) or a vector: which
 * voice does this copy sound like. Same exact-or-HNSW plan as chunk search.
 */
export async function findSimilarBrandVoices(
  tx: Transaction,
  input: SimilarVoicesInput,
): Promise<SimilarVoice[]> {
  const k = input.k ?? 5;
  assertK(k, 'brand_voices');
  if (input.brandId !== undefined && !isUuid(input.brandId))
    throw invalidInput('brand_voices', 'brand_id', `brand id must be a UUID, got ${String(input.brandId)}`);
  const org = currentTenant(tx);
  try {
    const { space, vector } = await resolveQueryVector(tx, input.spaceId, input, 'brand_voices');
    const filter = sql`organization_id = ${org}::uuid${input.brandId ? sql` and brand_id = ${input.brandId}::uuid` : sql``}`;
    const q = { table: 'brand_voices', space, vector, filter, limit: k, options: input };
    const score = sql.raw(scoreSql(space.distance, 'n.distance'));
    const nearest = async (plan: NearestPlan) =>
      rowsOf<{ id: string; distance: number; score: number }>(
        await tx.execute(sql`
          with nearest as materialized (${nearestSql(q, plan)})
          select n.id, n.distance, ${score} as score from nearest n order by n.distance, n.id`),
      );
    const { rows } = await runNearest(tx, q, await planNearest(tx, q), nearest);
    if (rows.length === 0) return [];
    const voices = await tx
      .select(voiceColumns)
      .from(brandVoices)
      .where(
        and(
          eq(brandVoices.organizationId, org),
          sql`${brandVoices.id} = any(${sql.raw(`'{${rows.map((row) => row.id).join(',')}}'::uuid[]`)})`,
        ),
      );
    return rows.flatMap((row) => {
      const voice = voices.find((v) => v.id === row.id);
      return voice ? [{ voice, distance: Number(row.distance), score: Number(row.score) }] : [];
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}
