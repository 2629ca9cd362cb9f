/** Largest dimension count pgvector can index as `halfvec`. */
export const MAX_DIMENSIONS = 4000;

// Whole words carry the most meaning; bigrams add word order, trigrams match inflections ("email"/"emails").
const UNIGRAM_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;

export type LocalEmbedder = {
  provider: 'neonhub-local';
  model: 'feature-hash-v1';
  dimensions: number;
  embed(text: string): number[];
  embedMany(texts: string[]): number[][];
};

function assertDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new RangeError(
      `dimensions must be an integer from 1 to ${MAX_DIMENSIONS}, got ${String(dimensions)}`,
    );
  }
}

/** FNV-1a over UTF-16 code units: fixed by the language, so identical on every platform. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's finalizer: spreads FNV's weak low bits before taking a bucket and a sign. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Lowercases, strips diacritics (NFKD minus combining marks) and splits into runs of letters and digits. */
function tokenize(text: string): string[] {
  const folded = text.toLowerCase().normalize('NFKD').replace(/\p{M}/gu, '');
  return folded.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** A feature's weight, from its prefix. */
const weightOf = (feature: string) =>
  feature.charCodeAt(0) === 119
    ? UNIGRAM_WEIGHT
    : feature.charCodeAt(0) === 98
      ? BIGRAM_WEIGHT
      : TRIGRAM_WEIGHT;

/**
 * Counts features, in the order each first appears; the prefixes (`w:`, `b:`, `c:`) keep a word, a
 * bigram and a trigram from colliding by name and give each its weight ({@link weightOf}).
 */
function features(words: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    add(`w:${word}`);
    const next = words[i + 1];
    if (next !== undefined) add(`b:${word} ${next}`);
    const padded = `#${word}#`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`);
  }
  return counts;
}

/**
 * Embeds text into a unit vector of `dimensions` components by signed feature hashing of words,
 * word bigrams and character trigrams. Deterministic; similar wording gives similar vectors.
 * Throws on text without letters or digits, and on dimensions outside 1..4000.
 */
export function embedText(text: string, dimensions: number): number[] {
  assertDimensions(dimensions);
  if (typeof text !== 'string') throw new TypeError('text to embed must be a string');
  const words = tokenize(text);
  if (words.length === 0) throw new Error('empty text cannot be embedded (it has no letters or digits)');

  const vector = new Float64Array(dimensions);
  for (const [feature, count] of features(words)) {
    const weight = weightOf(feature);
    const hash = fnv1a(feature);
    const bucket = fmix32(hash) % dimensions;
    const sign = fmix32(hash ^ 0x9e3779b9) & 1 ? 1 : -1;
    vector[bucket] = (vector[bucket] ?? 0) + sign * weight * (1 + Math.log(count));
  }

  // A plain sum and sqrt (correctly rounded) rather than Math.hypot, whose algorithm an engine may change.
  let sumOfSquares = 0;
  for (const x of vector) sumOfSquares += x * x;
  let norm = Math.sqrt(sumOfSquares);
  if (norm === 0) {
    // Signed collisions can cancel out in very few dimensions; fall back to the first word's bucket.
    vector[fmix32(fnv1a(`w:${words[0]}`)) % dimensions] = 1;
    norm = 1;
  }
  const unit = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) unit[i] = (vector[i] as number) / norm;
  return unit;
}

/** A local embedder for seeds and tests: no model download, same output on every machine. */
export function createLocalEmbedder(dimensions: number): LocalEmbedder {
  assertDimensions(dimensions);
  return {
    provider: 'neonhub-local',
    model: 'feature-hash-v1',
    dimensions,
    embed: (text) => embedText(text, dimensions),
    embedMany: (texts) => texts.map((text) => embedText(text, dimensions)),
  };
}

/** Cosine similarity of two equal-length vectors, in [-1, 1]. Throws on a length mismatch or a zero vector. */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vector lengths differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) throw new RangeError('cosine similarity is undefined for a zero vector');
  return dot / Math.sqrt(normA * normB);
}
