import type { Transaction } from '../client/client.ts';
import { findEmbeddingSpace } from '../rag/embedding-spaces.ts';
import { ingestDocument } from '../rag/ingest.ts';
import { startReembedding } from '../reembedding/reembedding.ts';
import { reembedWithin } from '../reembedding/reembedding-run.ts';
import { datasetSpaces, datasets, inferenceEndpoints, modelVersions, trainingJobs } from '../schema/index.ts';
import {
  brandSeedIds,
  localEmbedder,
  localEmbeddingSpace,
  NEXT_LOCAL_EMBEDDING_SPACE,
  nextLocalEmbedder,
} from './brand.ts';
import { type DomainSeed, insertNew, type SeedContext, type SeedCounts } from './context.ts';

/** The seed's knowledge base: distinct topics, so a search lands on the right document. */
export const seedDocuments = [
  {
    key: 'voice-guide',
    title: 'Brand voice guidelines',
    sourceUri: 'https://docs.demo.example/brand/voice',
    chunks: [
      'Our tone is confident, warm and playful. We speak to runners as friends, never as a faceless company.',
      'Preferred words: glow, launch, bright, together. Banned words: synergy, disrupt, cheap.',
      'Headlines stay under eight words. Lead with the benefit, then the product name.',
    ],
  },
  {
    key: 'spring-launch',
    title: 'Spring running shoe launch brief',
    sourceUri: 'https://docs.demo.example/campaigns/spring-launch',
    chunks: [
      'The spring launch introduces the Glow Runner, a lightweight running shoe with reflective laces for early morning runs.',
      'Launch date is March 3. Pre-orders open two weeks earlier with free shipping on every running shoe.',
      'Key audience: city runners aged 25 to 40 who run before work and care about visibility and comfort.',
    ],
  },
  {
    key: 'email-playbook',
    title: 'Email newsletter playbook',
    sourceUri: 'https://docs.demo.example/channels/email',
    chunks: [
      'Send the newsletter every Tuesday at 9am local time. Subject lines stay under fifty characters.',
      'Every email has one call to action button and a plain text version for accessibility.',
      'Unsubscribe requests are honoured immediately; never email a contact who opted out.',
    ],
  },
  {
    key: 'pricing-faq',
    title: 'Pricing and plans FAQ',
    sourceUri: 'https://docs.demo.example/support/pricing',
    chunks: [
      'The starter plan costs 29 dollars per month and includes three brands and five thousand emails.',
      'Annual billing saves two months. Refunds are available within thirty days of purchase.',
    ],
  },
  {
    key: 'social-schedule',
    title: 'Social media posting schedule',
    sourceUri: 'https://docs.demo.example/channels/social',
    chunks: [
      'Post on Instagram three times a week: Monday, Wednesday and Friday at noon.',
      'On LinkedIn we post product news once a week; on TikTok we post short running videos daily.',
    ],
  },
];

async function seedRag(tx: Transaction, ctx: SeedContext): Promise<SeedCounts> {
  const space = await localEmbeddingSpace(tx);
  const datasetId = ctx.id('dataset', 'brand-knowledge');
  const counts: SeedCounts = {
    datasets: await insertNew(tx, datasets, [
      {
        id: datasetId,
        slug: 'brand-knowledge',
        name: 'Brand knowledge base',
        description: 'Guidelines, briefs and playbooks the agents retrieve from.',
        kind: 'documents',
        embeddingSpaceId: space.id,
      },
    ]),
    dataset_spaces: await insertNew(tx, datasetSpaces, [{ datasetId, embeddingSpaceId: space.id }]),
    documents: 0,
    chunks: 0,
  };
  for (const doc of seedDocuments) {
    const result = await ingestDocument(tx, {
      datasetId,
      document: {
        id: ctx.id('document', doc.key),
        title: doc.title,
        sourceUri: doc.sourceUri,
        mimeType: 'text/markdown',
      },
      chunks: doc.chunks.map((content) => ({ content })),
      embedder: localEmbedder,
    });
    counts.documents = (counts.documents ?? 0) + (result.documentCreated ? 1 : 0);
    counts.chunks = (counts.chunks ?? 0) + result.inserted;
  }

  // A model upgrade in progress: the knowledge base and the brand's voices embedded in the next
  // space, ready to switch (a re-run finds the moves and has nothing left to embed).
  const next = await findEmbeddingSpace(tx, NEXT_LOCAL_EMBEDDING_SPACE);
  if (!next) throw new Error('the next local embedding space is not registered: run the global seed first');
  for (const target of [{ datasetId }, { brandId: brandSeedIds(ctx).brand, fromSpaceId: space.id }]) {
    const move = await startReembedding(tx, { ...target, toSpaceId: next.id });
    if (move.embeddedRows === 0) counts.reembeddings = (counts.reembeddings ?? 0) + 1;
    await reembedWithin(tx, { migrationId: move.id, embedder: nextLocalEmbedder });
  }

  const modelVersionId = ctx.id('model_version', 'brand-copy-writer', '1');
  counts.model_versions = await insertNew(tx, modelVersions, [
    {
      id: modelVersionId,
      name: 'brand-copy-writer',
      version: 1,
      provider: 'self-hosted',
      baseModel: 'llama-3.1-8b-instruct',
      artifactUri: `s3://neonhub-models/${ctx.slug}/brand-copy-writer/v1`,
      status: 'ready',
      metrics: { evalLoss: 0.42, styleAdherence: 0.91 },
    },
  ]);
  counts.training_jobs = await insertNew(tx, trainingJobs, [
    {
      id: ctx.id('training_job', 'brand-copy-writer', '1'),
      datasetId,
      baseModel: 'llama-3.1-8b-instruct',
      outputModelVersionId: modelVersionId,
      status: 'succeeded',
      hyperparameters: { epochs: 3, learningRate: 0.0002, batchSize: 16, loraRank: 16 },
      metrics: { trainLoss: 0.37, evalLoss: 0.42 },
      queuedAt: new Date('2026-01-10T09:00:00Z'),
      startedAt: new Date('2026-01-10T09:05:00Z'),
      finishedAt: new Date('2026-01-10T11:40:00Z'),
    },
  ]);
  counts.inference_endpoints = await insertNew(tx, inferenceEndpoints, [
    {
      id: ctx.id('inference_endpoint', 'brand-copy-writer'),
      modelVersionId,
      name: 'brand-copy-writer-v1',
      url: `https://inference.${ctx.slug}.example/v1/brand-copy-writer`,
      status: 'ready',
      config: { maxTokens: 1024, temperature: 0.7, timeoutMs: 30000, minReplicas: 1, maxReplicas: 3 },
    },
  ]);
  return counts;
}

/** A knowledge-base dataset with five documents and their embedded chunks, and a trained, served model. */
export const ragSeed: DomainSeed = { name: 'rag', tenant: seedRag };
