// Text an index cannot shrink: random code points, so a compressed entry is no smaller than the value.

import fc from 'fast-check';

/** CJK ideographs: 3 bytes each in UTF-8, 1 UTF-16 unit. */
export const CJK = { min: 0x4e00, max: 0x9fff };
/** Astral ideographs (CJK Extension B): 4 bytes each in UTF-8, 2 UTF-16 units, like emoji. */
export const ASTRAL = { min: 0x20000, max: 0x2a6df };
/** Printable ASCII: 1 byte each. */
export const ASCII = { min: 0x21, max: 0x7e };
/** Latin Extended-A: 2 bytes each. */
export const LATIN = { min: 0x100, max: 0x17f };

/**
 * Strings of any code points, lone surrogates included: what fast-check's `unit: 'binary'` draws,
 * without the 3 to 5 seconds that unit spends preparing itself on its first use in a process.
 */
export const anyCodePoints = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
    maxLength,
  });

/** `length` random code points of `range`, the same for the same `seed`. */
export function randomText(range: { min: number; max: number }, length: number, seed: number): string {
  // Unbiased: fast-check favours the ends of a range, and repeated characters would compress.
  const unit = fc.noBias(fc.integer(range)).map((code) => String.fromCodePoint(code));
  const [text] = fc.sample(fc.string({ unit, minLength: length, maxLength: length }), { seed, numRuns: 1 });
  return text ?? '';
}

/** Exactly `bytes` bytes of UTF-8 in as few characters as two-byte letters allow. */
export const randomUtf8 = (bytes: number, seed: number) =>
  randomText(LATIN, Math.floor(bytes / 2), seed) + randomText(ASCII, bytes % 2, seed);
