import { lift, lnGamma, normalCdf, probabilityBetter, probabilityText, verdict, wilsonInterval, type Tally } from '../../core/statistics';
import { splitReports } from '../../core/splits';

/**
 * P(pB > pA) by brute force, independent of the closed form: both Beta posteriors on a fine grid,
 * A's distribution function accumulated by the trapezoid rule, then ∫ f_B(x) F_A(x) dx.
 */
function gridProbability(a: Tally, b: Tally, points = 200_000): number {
  const logDensity = (t: Tally) => {
    const [al, be] = [1 + t.converted, 1 + t.entered - t.converted];
    const norm = lnGamma(al + be) - lnGamma(al) - lnGamma(be);
    return (x: number) => (x <= 0 || x >= 1 ? -Infinity : norm + (al - 1) * Math.log(x) + (be - 1) * Math.log(1 - x));
  };
  const fa = logDensity(a);
  const fb = logDensity(b);
  const h = 1 / points;
  // Midpoint rule: the densities are never taken at 0 or 1, where they may be infinite.
  let cdfA = 0;
  let total = 0;
  for (let i = 0; i < points; i++) {
    const x = (i + 0.5) * h;
    const da = Math.exp(fa(x));
    total += Math.exp(fb(x)) * (cdfA + (da * h) / 2) * h;
    cdfA += da * h;
  }
  return total;
}

describe('lnGamma', () => {
  it('matches known values', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 12);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(lnGamma(101)).toBeCloseTo(363.73937555556347, 9);
  });
});

describe('the Wilson interval', () => {
  it('matches the published values and stays inside 0–1', () => {
    const [lo, hi] = wilsonInterval({ entered: 100, converted: 10 })!;
    expect(lo).toBeCloseTo(0.0552, 4);
    expect(hi).toBeCloseTo(0.1744, 4);
    const [zlo, zhi] = wilsonInterval({ entered: 10, converted: 0 })!;
    expect(zlo).toBe(0);
    expect(zhi).toBeCloseTo(0.2775, 4);
    const [alo, ahi] = wilsonInterval({ entered: 10, converted: 10 })!;
    expect(alo).toBeCloseTo(0.7225, 4);
    expect(ahi).toBeCloseTo(1, 12);
  });

  it('has no interval before anyone entered', () => {
    expect(wilsonInterval({ entered: 0, converted: 0 })).toBeUndefined();
  });
});

describe('the probability that B converts better than A', () => {
  it('is one half for equal arms and for no data', () => {
    expect(probabilityBetter({ entered: 0, converted: 0 }, { entered: 0, converted: 0 })).toBeCloseTo(0.5, 12);
    expect(probabilityBetter({ entered: 500, converted: 40 }, { entered: 500, converted: 40 })).toBeCloseTo(0.5, 9);
  });

  it.each([
    [{ entered: 1000, converted: 100 }, { entered: 1000, converted: 130 }],
    [{ entered: 50, converted: 3 }, { entered: 40, converted: 1 }],
    [{ entered: 200, converted: 0 }, { entered: 200, converted: 4 }],
    [{ entered: 30, converted: 29 }, { entered: 300, converted: 250 }],
  ])('agrees with brute-force integration for %j against %j', (a, b) => {
    expect(probabilityBetter(a, b)).toBeCloseTo(gridProbability(a, b), 4);
  });

  it('adds up to one with the other way round', () => {
    const a = { entered: 800, converted: 90 };
    const b = { entered: 700, converted: 95 };
    expect(probabilityBetter(a, b) + probabilityBetter(b, a)).toBeCloseTo(1, 9);
  });

  it('uses the normal approximation only with many conversions, where it agrees with the normal test', () => {
    // 25.0 % against 25.4 % of 100,000 each: z = 0.004 / sqrt(2 · 0.25 · 0.75 / 100,000) ≈ 2.066.
    const p = probabilityBetter({ entered: 100_000, converted: 25_000 }, { entered: 100_000, converted: 25_400 });
    expect(p).toBeCloseTo(normalCdf(2.066), 2);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  });
});

describe('lift and the verdict', () => {
  it('gives lift relative to the baseline, none on a zero baseline', () => {
    expect(lift({ entered: 100, converted: 10 }, { entered: 100, converted: 15 })).toBeCloseTo(0.5, 12);
    expect(lift({ entered: 100, converted: 0 }, { entered: 100, converted: 15 })).toBeUndefined();
  });

  it('says there is not enough data below the minimums', () => {
    expect(verdict('A', { entered: 99, converted: 50 }, 'B', { entered: 500, converted: 400 })).toBe('not enough data yet');
    expect(verdict('A', { entered: 1000, converted: 4 }, 'B', { entered: 1000, converted: 5 })).toBe('not enough data yet');
  });

  it('names the winner in either direction, and says when there is none yet', () => {
    const v = verdict('A', { entered: 1000, converted: 100 }, 'B', { entered: 1000, converted: 130 });
    expect(v).toMatch(/^B converts better than A with 9\d % probability$/);
    expect(verdict('A', { entered: 1000, converted: 130 }, 'B', { entered: 1000, converted: 100 })).toMatch(/^A converts better than B with 9\d % probability$/);
    expect(verdict('A', { entered: 1000, converted: 100 }, 'B', { entered: 1000, converted: 105 })).toMatch(/^no clear winner yet: B converts better than A with \d\d % probability$/);
    expect(probabilityText(0.9999)).toBe('more than 99 %');
    expect(probabilityText(0.001)).toBe('less than 1 %');
  });
});

describe('split reports', () => {
  const plan = {
    steps: [
      { kind: 'wait', id: 'pause', ms: 1 },
      { kind: 'split', id: 'offer', holdout: 10, variants: [{ name: 'A', weight: 50, steps: [] }, { name: 'B', weight: 50, steps: [{ kind: 'split', id: 'inner', holdout: 0, variants: [{ name: 'x', weight: 50, steps: [] }, { name: 'y', weight: 50, steps: [] }] }] }] },
    ],
  } as never;

  it('lists every split of the plan with all its arms, zeros where nobody went, the holdout as baseline', () => {
    const reports = splitReports(plan, [
      { stepId: 'offer', variant: 'B', entered: 1000, converted: 130 },
      { stepId: 'offer', variant: 'holdout', entered: 1000, converted: 100 },
    ]);
    expect(reports.map((r) => r.step)).toEqual(['offer', 'inner']);
    const [offer, inner] = reports;
    expect(offer.variants.map((v) => [v.name, v.entered])).toEqual([
      ['A', 0],
      ['B', 1000],
    ]);
    expect(offer.baseline).toBe('holdout');
    expect(offer.holdout).toMatchObject({ entered: 1000, converted: 100, conversion_rate: 0.1 });
    expect(offer.lift).toBeCloseTo(0.3, 12);
    expect(offer.verdict).toMatch(/^B converts better than holdout with 9\d % probability$/);
    expect(offer.variants[1].interval?.[0]).toBeLessThan(0.13);
    expect(offer.variants[0]).toMatchObject({ conversion_rate: null, interval: null, lift: null });
    // Without a holdout the first variant is the baseline.
    expect(inner).toMatchObject({ baseline: 'x', lift: null, verdict: 'not enough data yet' });
    expect(inner.holdout).toBeUndefined();
  });

  it('keeps arms and splits only an older version had', () => {
    const [offer, , gone] = splitReports(plan, [
      { stepId: 'offer', variant: 'C', entered: 5, converted: 1 },
      { stepId: 'old-split', variant: 'A', entered: 3, converted: 0 },
    ]);
    expect(offer.variants.map((v) => v.name)).toEqual(['A', 'B', 'C']);
    expect(gone).toMatchObject({ step: 'old-split', baseline: 'A' });
  });
});
