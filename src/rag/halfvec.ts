// Vectors in pgvector's half-precision form: the exact value a `halfvec` column stores, as the
// shortest text that reads back as it, or as the binary form `halfvec_recv` reads.

const float = new Float32Array(1);
const floatBits = new Uint32Array(float.buffer);

/**
 * The half-precision float (as bits) pgvector stores for `x`: `halfvec_in` reads a float4 and rounds
 * it to nearest, ties to even; so does this.
 */
export function halfBits(x: number): number {
  float[0] = x;
  return halfOfFloatBits(floatBits[0] ?? 0);
}

/** {@link halfBits} of a float4 given as its bits. */
function halfOfFloatBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 112;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 143) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31) return sign | 0x7c00;
  // Normal: the top 10 mantissa bits, the 13 below rounding; subnormal: shifted further (nothing allocated, a vector is hundreds of these).
  if (exponent > 0) {
    const kept = (exponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    return sign | (kept + (rest > 0x1000 || (rest === 0x1000 && kept & 1) ? 1 : 0));
  }
  const shift = 14 - exponent;
  if (shift > 25) return sign;
  const value = mantissa | 0x800000;
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (kept + (rest > half || (rest === half && kept & 1) ? 1 : 0));
}

/** The value of a half-precision float given as bits. */
export function halfValue(h: number): number {
  const magnitude = h & 0x7fff;
  const value =
    magnitude >= 0x7c00
      ? Number.POSITIVE_INFINITY
      : magnitude < 0x400
        ? magnitude * 2 ** -24
        : (1 + (magnitude & 0x3ff) / 1024) * 2 ** ((magnitude >>> 10) - 15);
  return h & 0x8000 ? -value : value;
}

let halfTexts: string[] | undefined;

/**
 * For each half-precision value, the shortest decimal that `halfvec_in` reads back as exactly that
 * value (within a quarter step, so the float4 it passes through cannot round it elsewhere).
 */
function halfText(h: number): string {
  halfTexts ??= Array.from({ length: 0x10000 }, (_, bits) => {
    const value = halfValue(bits);
    const magnitude = bits & 0x7fff;
    if (magnitude >= 0x7c00) return '';
    if (bits === 0x8000) return '-0';
    const step =
      magnitude < 0x7bff
        ? halfValue(magnitude + 1) - halfValue(magnitude)
        : halfValue(magnitude) - halfValue(magnitude - 1);
    for (let digits = 1; digits < 17; digits++) {
      const text = String(Number(value.toPrecision(digits)));
      if (Math.abs(Number(text) - value) <= step / 4 && halfBits(Number(text)) === bits) return text;
    }
    return String(value);
  });
  return halfTexts[h] ?? '';
}

/**
 * A vector as `halfvec` text with the fewest digits that keep its stored value: what the column
 * holds anyway, at about a third of the bytes of full doubles to send and parse.
 */
export function halfvecLiteral(vector: readonly number[]): string {
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) parts[i] = halfText(halfBits(vector[i] ?? 0));
  return `[${parts.join(',')}]`;
}

let floats = new Float32Array(0);
let floatsBits = new Uint32Array(0);

/** A vector in halfvec's binary form, what `halfvec_recv` reads: dimensions, a zero, the values. */
export function halfvecBinary(vector: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 + 2 * vector.length);
  out.writeUInt16BE(vector.length, 0);
  out.writeUInt16BE(0, 2);
  // Every component to float4 at once (the rounding `halfBits` does one by one), then each to half.
  if (floats.length < vector.length) {
    floats = new Float32Array(vector.length);
    floatsBits = new Uint32Array(floats.buffer);
  }
  floats.set(vector);
  for (let i = 0, at = 4; i < vector.length; i++, at += 2) {
    const h = halfOfFloatBits(floatsBits[i] as number);
    out[at] = h >>> 8;
    out[at + 1] = h & 0xff;
  }
  return out;
}
