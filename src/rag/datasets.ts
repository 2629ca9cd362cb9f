import { and, eq, isNull, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput, isUuid } from '../base/input.ts';
import type { Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { type Dataset, datasetSpaces, datasets } from '../schema/index.ts';
import { insertDatasetSchema } from '../validators/rag.ts';
import { getEmbeddingSpace } from './embedding-spaces.ts';

export interface CreateDatasetInput {
  slug: string;
  name: string;
  embeddingSpaceId: string;
  description?: string | null;
  kind?: Dataset['kind'];
}

/**
 * Throws `invalid_input` naming the first field a Zod parse refused. `column` names the JSON column
 * when the parse was of that column's value alone.
 */
export function refuseIssues(
  table: string,
  result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  column?: string,
): void {
  const [issue] = result.error?.issues ?? [];
  if (!result.success && issue) {
    const field = column ?? String(issue.path[0] ?? 'row').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const where = [column, ...issue.path.map(String)].filter(Boolean).join('.') || 'row';
    throw invalidInput(table, field, `${where}: ${issue.message}`);
  }
}

/** Creates a dataset of the current tenant whose chunks are embedded in `embeddingSpaceId` (and the space's `dataset_spaces` row). */
export async function createDataset(tx: Transaction, input: CreateDatasetInput): Promise<Dataset> {
  refuseIssues('datasets', insertDatasetSchema.safeParse(input));
  const org = currentTenant(tx);
  try {
    await getEmbeddingSpace(tx, input.embeddingSpaceId, 'datasets');
    const [row] = await tx
      .insert(datasets)
      .values({
        organizationId: org,
        slug: input.slug,
        name: input.name.trim(),
        description: input.description ?? null,
        kind: input.kind ?? 'documents',
        embeddingSpaceId: input.embeddingSpaceId,
      })
      .returning();
    if (!row) throw new Error('dataset insert returned no row');
    // The space its chunks' vectors may be in (`chunks_dataset_space_fkey`).
    await tx
      .insert(datasetSpaces)
      .values({ organizationId: org, datasetId: row.id, embeddingSpaceId: row.embeddingSpaceId });
    return row;
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * A live dataset of the current tenant, or an `invalid_input` error: another tenant's dataset is
 * invisible here, so it reads as "does not exist in this organization".
 */
export async function getLiveDataset(
  tx: Transaction,
  datasetId: string,
  table = 'datasets',
): Promise<Dataset> {
  if (!isUuid(datasetId))
    throw invalidInput(table, 'dataset_id', `dataset id must be a UUID, got ${String(datasetId)}`);
  const [row] = await tx
    .select()
    .from(datasets)
    .where(and(eq(datasets.organizationId, currentTenant(tx)), eq(datasets.id, datasetId)));
  if (!row)
    throw invalidInput(table, 'dataset_id', `dataset ${datasetId} does not exist in this organization`);
  if (row.deletedAt) throw invalidInput(table, 'dataset_id', `dataset ${datasetId} is deleted`);
  return row;
}

/** Soft-deletes a dataset: its chunks leave search results and its slug is free again. */
export async function deleteDataset(tx: Transaction, datasetId: string): Promise<boolean> {
  if (!isUuid(datasetId)) throw invalidInput('datasets', 'id', `dataset id must be a UUID`);
  const rows = await tx
    .update(datasets)
    .set({ deletedAt: sql`now()` })
    .where(
      and(
        eq(datasets.organizationId, currentTenant(tx)),
        eq(datasets.id, datasetId),
        isNull(datasets.deletedAt),
      ),
    )
    .returning({ id: datasets.id });
  return rows.length === 1;
}
