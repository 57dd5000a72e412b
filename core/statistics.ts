/**
 * The statistics behind split results (`unbroken stats`, the console's journey page).
 *
 * - A conversion rate's 95 % interval is the **Wilson score interval**: unlike the textbook
 *   "rate ± 1.96 standard errors" it stays inside 0–100 % and keeps its coverage with few
 *   customers or rates near 0, which is where marketing splits usually are.
 * - Whether one arm converts better than another is a **Beta-Binomial** comparison: with a uniform
 *   prior, an arm's rate after `c` conversions out of `n` is Beta(1 + c, 1 + n − c), and the
 *   answer is the probability that B's rate is above A's. That is the sentence a marketer asks
 *   for ("B is better with 97 % probability"), where a p-value would need a lesson first. It is
 *   computed exactly (a finite sum, see `probabilityBetter`), and with a normal approximation
 *   only when both arms have more than 20,000 conversions, where the two agree to many decimals.
 */

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;
/** Fewer customers than this in an arm, or fewer conversions in all compared arms: no verdict. */
export const MIN_ENTERED_FOR_VERDICT = 100;
export const MIN_CONVERSIONS_FOR_VERDICT = 10;
/** A probability at least this far from an even chance is a verdict. */
const DECISIVE = 0.95;
/** Above this many terms, the exact sum gives way to the normal approximation. */
const EXACT_TERMS = 20_000;

/** Conversions out of customers who entered an arm. */
export interface Tally {
  entered: number;
  converted: number;
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7; accurate to ~15 digits). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < c.length; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b), the log of the Beta function. */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** Converted out of entered, or undefined before anyone entered. */
export function rate(t: Tally): number | undefined {
  return t.entered === 0 ? undefined : t.converted / t.entered;
}

/** A journey's converted runs (its goal event happened) out of all entered ones; undefined before anyone entered. */
export function conversionRate(entered: number, outcomes: Readonly<Record<string, number>>): number | undefined {
  return rate({ entered, converted: outcomes.converted ?? 0 });
}

/** The Wilson score interval of a rate at 95 %, or undefined before anyone entered. */
export function wilsonInterval(t: Tally): [number, number] | undefined {
  if (t.entered === 0) return undefined;
  const n = t.entered;
  const p = t.converted / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * The probability that B's conversion rate is above A's, both with a uniform prior. Exact:
 * P(pB > pA) = Σ_{i=0}^{αB−1} B(αA + i, βA + βB) / ((βB + i) · B(1 + i, βB) · B(αA, βA)),
 * with α = 1 + converted, β = 1 + entered − converted. The sum runs over the arm with fewer
 * conversions (P(A > B) = 1 − P(B > A), ties having probability 0).
 */
export function probabilityBetter(a: Tally, b: Tally): number {
  const [aA, bA, aB, bB] = [1 + a.converted, 1 + a.entered - a.converted, 1 + b.converted, 1 + b.entered - b.converted];
  if (Math.min(aA, aB) > EXACT_TERMS) return normalApproximation(aA, bA, aB, bB);
  if (aB > aA) return 1 - exactSum(aB, bB, aA, bA);
  return exactSum(aA, bA, aB, bB);
}

/** P(X_B > X_A) for X_A ~ Beta(aA, bA), X_B ~ Beta(aB, bB) as the sum above (aB terms). */
function exactSum(aA: number, bA: number, aB: number, bB: number): number {
  const base = lnBeta(aA, bA);
  let total = 0;
  for (let i = 0; i < aB; i++) total += Math.exp(lnBeta(aA + i, bA + bB) - Math.log(bB + i) - lnBeta(1 + i, bB) - base);
  return Math.min(1, Math.max(0, total));
}

/** The same probability with each Beta replaced by the normal of its mean and variance. */
function normalApproximation(aA: number, bA: number, aB: number, bB: number): number {
  const mean = (a: number, b: number) => a / (a + b);
  const variance = (a: number, b: number) => (a * b) / ((a + b) ** 2 * (a + b + 1));
  const z = (mean(aB, bB) - mean(aA, bA)) / Math.sqrt(variance(aA, bA) + variance(aB, bB));
  return normalCdf(z);
}

/** Φ(z), the standard normal distribution function (erfc by a rational approximation, error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** How much better (or worse) B converts than A, relative to A: 0.25 is 25 % more conversions. */
export function lift(a: Tally, b: Tally): number | undefined {
  const ra = rate(a);
  const rb = rate(b);
  return ra === undefined || rb === undefined || ra === 0 ? undefined : (rb - ra) / ra;
}

/** A probability as a whole percentage a person reads, never "100 %" or "0 %" (it never is). */
export function probabilityText(p: number): string {
  if (p > 0.99) return 'more than 99 %';
  if (p < 0.01) return 'less than 1 %';
  return `${Math.round(p * 100)} %`;
}

/**
 * A plain sentence about B against A: "not enough data yet" below the minimums, a winner when
 * the probability is 95 % or more either way, and otherwise that there is no clear winner yet.
 */
export function verdict(aName: string, a: Tally, bName: string, b: Tally): string {
  if (Math.min(a.entered, b.entered) < MIN_ENTERED_FOR_VERDICT || a.converted + b.converted < MIN_CONVERSIONS_FOR_VERDICT) return 'not enough data yet';
  const p = probabilityBetter(a, b);
  if (p >= DECISIVE) return `${bName} converts better than ${aName} with ${probabilityText(p)} probability`;
  if (p <= 1 - DECISIVE) return `${aName} converts better than ${bName} with ${probabilityText(1 - p)} probability`;
  return `no clear winner yet: ${bName} converts better than ${aName} with ${probabilityText(p)} probability`;
}
