// Deterministic data for benchmarks and tests: the same seed gives the same numbers everywhere.

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unit vectors around `centers` cluster centres: structured like real embeddings, unlike uniform noise. */
export function vectorSource(dims: number, seed: number, centers = 64) {
  const random = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  const unit = (v: number[]) => {
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
    return v.map((x) => x / norm);
  };
  const hubs = Array.from({ length: centers }, () => unit(Array.from({ length: dims }, gauss)));
  return () => {
    const hub = hubs[Math.floor(random() * hubs.length)] ?? [];
    return unit(hub.map((x) => x + 0.06 * gauss()));
  };
}
