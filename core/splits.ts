/**
 * Split results: for every `split` step of a journey, each variant and the holdout with how many
 * entered and converted (the journey's goal event within the run), the rate with its 95 %
 * interval, the lift against the baseline and a plain verdict. The baseline is the holdout when
 * the split has one, else its first variant. The statistics are in core/statistics.ts.
 */
import { allSteps, type JourneyPlan, type Step } from '../compiler/plan';
import { lift, probabilityBetter, rate, verdict, wilsonInterval, type Tally } from './statistics';

/** The arm name a run held out of a split is recorded under. */
export const HOLDOUT = 'holdout';

/** Runs that reached one arm of one split, as the store counts them. */
export interface SplitCount extends Tally {
  stepId: string;
  variant: string;
}

/** One variant (or the holdout) of a split, in the shape `stats --json` prints. */
export interface ArmResult {
  name: string;
  entered: number;
  converted: number;
  conversion_rate: number | null;
  /** 95 % Wilson interval of the rate; null before anyone entered. */
  interval: [number, number] | null;
  /** Against the baseline (absent on the baseline itself). */
  lift?: number | null;
  probability_better?: number;
}

export interface SplitReport {
  step: string;
  variants: ArmResult[];
  holdout?: ArmResult;
  /** The arm the others are compared with: `holdout` or the first variant. */
  baseline: string;
  /** Lift of the best-converting other arm against the baseline. */
  lift: number | null;
  verdict: string;
}

/** Every split step of a plan with its variant names in order, however deeply nested. */
export function splitSteps(steps: readonly Step[]): { stepId: string; variants: string[]; holdout: boolean }[] {
  return allSteps(steps).flatMap((step) => (step.kind === 'split' ? [{ stepId: step.id, variants: step.variants.map((v) => v.name), holdout: step.holdout > 0 }] : []));
}

/**
 * The reports of every split, in plan order: the plan's splits with all their variants (zeros
 * for one nobody reached yet), then splits and variants only older versions had.
 */
export function splitReports(plan: Pick<JourneyPlan, 'steps'> | undefined, counts: readonly SplitCount[]): SplitReport[] {
  const shapes = plan === undefined ? [] : splitSteps(plan.steps);
  const order = new Map<string, string[]>(shapes.map((s) => [s.stepId, [...s.variants, ...(s.holdout ? [HOLDOUT] : [])]]));
  for (const c of counts) {
    const arms = order.get(c.stepId) ?? [];
    if (!arms.includes(c.variant)) arms.push(c.variant);
    order.set(c.stepId, arms);
  }
  return [...order.entries()].map(([stepId, arms]) => {
    const tallies = arms.map((name) => {
      const found = counts.find((c) => c.stepId === stepId && c.variant === name);
      return { name, entered: found?.entered ?? 0, converted: found?.converted ?? 0 };
    });
    return report(stepId, tallies);
  });
}

function report(stepId: string, arms: { name: string; entered: number; converted: number }[]): SplitReport {
  const holdout = arms.find((a) => a.name === HOLDOUT);
  const variants = arms.filter((a) => a.name !== HOLDOUT);
  const baseline = holdout ?? variants[0];
  const arm = (t: (typeof arms)[number]): ArmResult => {
    const result: ArmResult = { name: t.name, entered: t.entered, converted: t.converted, conversion_rate: rate(t) ?? null, interval: wilsonInterval(t) ?? null };
    if (baseline !== undefined && t !== baseline) {
      result.lift = lift(baseline, t) ?? null;
      result.probability_better = probabilityBetter(baseline, t);
    }
    return result;
  };
  // The challenger named in the verdict: the other arm converting best (the first on a tie).
  const others = arms.filter((a) => a !== baseline);
  const best = others.reduce<(typeof arms)[number] | undefined>((top, a) => (top === undefined || (rate(a) ?? -1) > (rate(top) ?? -1) ? a : top), undefined);
  return {
    step: stepId,
    variants: variants.map(arm),
    ...(holdout === undefined ? {} : { holdout: arm(holdout) }),
    baseline: baseline?.name ?? HOLDOUT,
    lift: baseline === undefined || best === undefined ? null : (lift(baseline, best) ?? null),
    verdict: baseline === undefined || best === undefined ? 'not enough data yet' : verdict(baseline.name, baseline, best.name, best),
  };
}
