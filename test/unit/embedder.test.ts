import { describe, expect, it } from 'vitest';
import { cosineSimilarity, createLocalEmbedder, embedText, MAX_DIMENSIONS } from '../../src/rag/embedder.ts';

const norm = (v: number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

/** Rounds to the nearest float16 value (round half to even), as halfvec storage would. */
function toFloat16(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const step = 2 ** (exponent - 10);
  const q = x / step;
  const rounded = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : Math.round(q);
  return rounded * step;
}

describe('embedText', () => {
  it('is deterministic and returns unit vectors of the requested size', () => {
    for (const dims of [1, 2, 16, 384, 1536, MAX_DIMENSIONS]) {
      const a = embedText('Spring sale: 20% off all running shoes!', dims);
      const b = embedText('Spring sale: 20% off all running shoes!', dims);
      expect(a).toHaveLength(dims);
      expect(a).toEqual(b);
      expect(norm(a)).toBeCloseTo(1, 12);
      expect(a.every(Number.isFinite)).toBe(true);
    }
  });

  it('produces the same vector on every run and Node version (pinned sample)', () => {
    const v = embedText('NeonHub spring launch', 16);
    console.log('embedText("NeonHub spring launch", 16) =', v.map((x) => x.toFixed(6)).join(', '));
    expect(v.map((x) => Math.round(x * 1e6))).toEqual(PINNED_NEONHUB_16);
  });

  it('gives the same vector through the embedder object, alone and in batches', () => {
    const embedder = createLocalEmbedder(64);
    expect(embedder).toMatchObject({ provider: 'neonhub-local', model: 'feature-hash-v1', dimensions: 64 });
    const texts = ['first text', 'second text', 'first text'];
    const batch = embedder.embedMany(texts);
    expect(batch).toHaveLength(3);
    expect(batch[0]).toEqual(embedder.embed('first text'));
    expect(batch[0]).toEqual(batch[2]);
    expect(batch[0]).toEqual(embedText('first text', 64));
    expect(embedder.embedMany([])).toEqual([]);
  });

  it('ignores case, diacritics and punctuation', () => {
    const a = embedText('Crème Brûlée at the CAFÉ', 256);
    const b = embedText('creme brulee at the cafe', 256);
    const c = embedText('crème... brûlée -- at the café!!!', 256);
    expect(cosineSimilarity(a, b)).toBeCloseTo(1, 12);
    expect(cosineSimilarity(a, c)).toBeCloseTo(1, 12);
  });

  it('embeds non-Latin scripts and digits', () => {
    for (const text of ['東京の天気', 'привет мир', '2024 Q3', 'ναι']) {
      const v = embedText(text, 128);
      expect(norm(v)).toBeCloseTo(1, 12);
    }
    expect(cosineSimilarity(embedText('привет мир', 128), embedText('привет друг', 128))).toBeGreaterThan(
      0.2,
    );
  });

  it('refuses empty, whitespace-only and punctuation-only text', () => {
    for (const text of ['', '   ', '\n\t ', '?!... --- ***']) {
      expect(() => embedText(text, 16)).toThrow(/empty text cannot be embedded/);
    }
  });

  it('validates dimensions, naming the bad value', () => {
    for (const bad of [0, -1, 4001, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => embedText('hello', bad)).toThrow(new RegExp(`got ${String(bad)}`));
      expect(() => createLocalEmbedder(bad)).toThrow(/integer from 1 to 4000/);
    }
  });

  it('survives float16 (halfvec) storage: finite, non-zero and nearly unchanged', () => {
    const samples = [
      'hi',
      'Launch the spring email campaign for running shoes',
      'word '.repeat(2000),
      Array.from({ length: 3000 }, (_, i) => `token${i}`).join(' '),
    ];
    for (const dims of [3, 384, 1536, 4000]) {
      for (const text of samples) {
        const v = embedText(text, dims);
        const half = v.map(toFloat16);
        expect(half.every((x) => Number.isFinite(x) && Math.abs(x) <= 1)).toBe(true);
        expect(half.some((x) => x !== 0)).toBe(true);
        expect(cosineSimilarity(v, half)).toBeGreaterThan(0.999);
      }
    }
  });

  it('never returns a zero vector, even when hashed features cancel in one dimension', () => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`);
    for (const word of words) expect(Math.abs(embedText(word, 1)[0] ?? 0)).toBe(1);
  });
});

describe('similarity ordering', () => {
  const triples: [anchor: string, similar: string, unrelated: string][] = [
    [
      'launch the spring email campaign for running shoes',
      'spring campaign emails announcing our new running shoes',
      'quarterly invoice for cloud hosting',
    ],
    [
      'how do I reset my password',
      'steps to reset a forgotten password',
      'our new summer collection of sandals',
    ],
    [
      'brand voice: friendly, playful and upbeat',
      'a playful, friendly tone of voice for the brand',
      'database migration failed on the primary server',
    ],
    [
      'invoice overdue payment reminder',
      'reminder: your invoice payment is overdue',
      'instagram post about hiking boots',
    ],
    [
      'customer churn analysis for the enterprise segment',
      'analysing churn among enterprise customers',
      'recipe for a chocolate birthday cake',
    ],
  ];

  for (const dims of [256, 1536]) {
    it(`puts related texts closer than unrelated ones (${dims} dimensions)`, () => {
      const embedder = createLocalEmbedder(dims);
      for (const [anchor, similar, unrelated] of triples) {
        const [a, s, u] = embedder.embedMany([anchor, similar, unrelated]) as [number[], number[], number[]];
        const close = cosineSimilarity(a, s);
        const far = cosineSimilarity(a, u);
        console.log(`${dims}d  similar ${close.toFixed(3)}  unrelated ${far.toFixed(3)}  "${anchor}"`);
        expect(close).toBeGreaterThan(far + 0.15);
        expect(close).toBeGreaterThan(0.25);
      }
    });
  }

  it('ranks near-duplicates above paraphrases above unrelated text', () => {
    const embed = (t: string) => embedText(t, 768);
    const query = embed('summer sale on running shoes');
    const ranked = [
      'summer sale on running shoes!',
      'running shoes summer discount',
      'winter coats on sale',
      'kubernetes cluster upgrade notes',
    ].map((text) => ({ text, score: cosineSimilarity(query, embed(text)) }));
    console.log(ranked.map((r) => `${r.score.toFixed(3)} ${r.text}`).join('\n'));
    const scores = ranked.map((r) => r.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
  });
});

describe('cosineSimilarity', () => {
  it('computes cosine and refuses mismatched or zero vectors', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [-3, 0])).toBeCloseTo(-1, 12);
    expect(() => cosineSimilarity([1, 2], [1, 2, 3])).toThrow(/lengths differ/);
    expect(() => cosineSimilarity([0, 0], [1, 0])).toThrow(/zero vector/);
  });
});

/** embedText('NeonHub spring launch', 16) scaled by 1e6 and rounded; a change means seed vectors change. */
const PINNED_NEONHUB_16 = [
  122169, 122169, -733017, 366508, -122169, 0, 122169, 0, 244339, -122169, 122169, -366508, -122169, 122169,
  0, -122169,
];
