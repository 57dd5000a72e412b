/** Split assignment: a customer lands in the same variant of a split every time they enter. */

/** Buckets per split; the holdout percentage is counted in hundredths of these. */
const BUCKETS = 10_000;

/** 32-bit FNV-1a: a stable, dependency-free hash, so assignment never changes between versions of the SDK. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The customer's bucket (0–9999) in one split of one journey. */
export function splitBucket(journeyId: string, stepId: string, customerId: string): number {
  return fnv1a(`${journeyId}:${stepId}:${customerId}`) % BUCKETS;
}

/**
 * The variant a bucket falls into, or undefined when it is held out. The buckets after the
 * holdout are spread over the weights in order, so changing the holdout moves few customers.
 */
export function variantForBucket<V extends { weight: number }>(bucket: number, holdoutPercent: number, variants: readonly V[]): V | undefined {
  const held = holdoutPercent * 100;
  if (bucket < held) return undefined;
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const position = ((bucket - held) / (BUCKETS - held)) * total;
  let acc = 0;
  // Float rounding can leave the last bucket just past the sum; it belongs to the last variant.
  return variants.find((v) => (acc += v.weight) > position) ?? variants[variants.length - 1];
}
