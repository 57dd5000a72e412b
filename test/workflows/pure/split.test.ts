import { fnv1a, splitBucket, variantForBucket } from '../../../workflows/pure/split';

/** The assignment as the interpreter computed it before it was split into functions. */
function assignedBefore(journey: string, stepId: string, customerId: string, holdout: number, variants: { name: string; weight: number }[]): string {
  let h = 0x811c9dc5;
  const text = `${journey}:${stepId}:${customerId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const bucket = (h >>> 0) % 10_000;
  if (bucket < holdout * 100) return 'holdout';
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const position = ((bucket - holdout * 100) / (10_000 - holdout * 100)) * total;
  let acc = 0;
  return (variants.find((v) => (acc += v.weight) > position) ?? variants[variants.length - 1]).name;
}

const assigned = (journey: string, stepId: string, customerId: string, holdout: number, variants: { name: string; weight: number }[]) =>
  variantForBucket(splitBucket(journey, stepId, customerId), holdout, variants)?.name ?? 'holdout';

describe('split assignment', () => {
  test('fnv1a matches the published 32-bit FNV-1a test vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  test('customers keep the buckets and variants they were given before', () => {
    const variants = [{ name: 'a', weight: 50 }, { name: 'b', weight: 30 }, { name: 'c', weight: 20 }];
    expect(['cus_1', 'cus_2', 'cus_3', 'ann', 'bob'].map((c) => splitBucket('welcome', 'split-3', c))).toEqual([1386, 3767, 6148, 1456, 4812]);
    expect(assigned('welcome', 'split-3', 'cus_3', 10, variants)).toBe('b');
    for (const holdout of [0, 10, 33.5, 100]) {
      for (let i = 0; i < 2000; i++) {
        const customer = `cus_${i}`;
        expect(assigned('welcome', 'split-3', customer, holdout, variants)).toBe(assignedBefore('welcome', 'split-3', customer, holdout, variants));
      }
    }
  });

  test('the holdout share of buckets gets no variant', () => {
    const variants = [{ name: 'only', weight: 1 }];
    expect(variantForBucket(999, 10, variants)).toBeUndefined();
    expect(variantForBucket(1000, 10, variants)?.name).toBe('only');
    expect(variantForBucket(0, 100, variants)).toBeUndefined();
  });

  test('buckets after the holdout are spread over the weights in order', () => {
    const variants = [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }];
    expect(variantForBucket(0, 0, variants)?.name).toBe('a');
    expect(variantForBucket(7499, 0, variants)?.name).toBe('a');
    expect(variantForBucket(7500, 0, variants)?.name).toBe('b');
    expect(variantForBucket(9999, 0, variants)?.name).toBe('b');
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) counts[assigned('j', 's', `c${i}`, 0, variants) as 'a' | 'b'] += 1;
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });

  test('the same customer lands in the same bucket of one split, and elsewhere in another', () => {
    expect(splitBucket('j', 'split-1', 'c1')).toBe(splitBucket('j', 'split-1', 'c1'));
    const other = ['c1', 'c2', 'c3', 'c4', 'c5'].map((c) => splitBucket('j', 'split-2', c));
    expect(['c1', 'c2', 'c3', 'c4', 'c5'].map((c) => splitBucket('j', 'split-1', c))).not.toEqual(other);
  });
});
