/**
 * The split results on a journey's page: per `split` step, each arm's numbers with its 95 %
 * interval drawn as a bar (so overlapping intervals are seen at a glance), the lift against the
 * baseline, and the verdict in words. The numbers come from core/splits.ts.
 */
import type { ArmResult, SplitReport } from '../../core/splits';
import { probabilityText } from '../../core/statistics';
import { percent as pct } from './journeys';
import { escapeHtml, table } from './layout';

const CHART_WIDTH = 220;
const ROW_HEIGHT = 16;

function signedPct(r: number | null | undefined): string {
  if (r === null || r === undefined) return '—';
  return `${r >= 0 ? '+' : '−'}${Math.abs(r * 100).toFixed(1)} %`;
}

/** One arm's interval as a horizontal bar on a 0–max scale, with its rate as a tick. */
function intervalSvg(arm: ArmResult, max: number): string {
  const label = arm.interval === null ? `${arm.name}: nobody yet` : `${arm.name}: ${pct(arm.interval[0])} to ${pct(arm.interval[1])}`;
  const svg = (inner: string) => `<svg role="img" aria-label="${escapeHtml(label)}" width="${CHART_WIDTH}" height="${ROW_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${ROW_HEIGHT}">${inner}</svg>`;
  if (arm.interval === null || arm.conversion_rate === null || max <= 0) return svg('');
  const x = (v: number) => ((v / max) * (CHART_WIDTH - 4) + 2).toFixed(1);
  const [lo, hi] = arm.interval;
  return svg(
    `<rect x="${x(lo)}" y="4" width="${Math.max(1, Number(x(hi)) - Number(x(lo))).toFixed(1)}" height="8" rx="2" fill="#7aa7e8"/>` +
      `<rect x="${(Number(x(arm.conversion_rate)) - 1).toFixed(1)}" y="1" width="2" height="14" fill="currentColor"/>`,
  );
}

function armRow(arm: ArmResult, baseline: string, max: number): string[] {
  const isBaseline = arm.name === baseline;
  return [
    `${escapeHtml(arm.name)}${isBaseline ? ' <span class="muted">(baseline)</span>' : ''}`,
    String(arm.entered),
    String(arm.converted),
    pct(arm.conversion_rate),
    arm.interval === null ? '—' : `${pct(arm.interval[0])} – ${pct(arm.interval[1])}`,
    intervalSvg(arm, max),
    isBaseline ? '' : signedPct(arm.lift),
    isBaseline || arm.probability_better === undefined ? '' : probabilityText(arm.probability_better),
  ];
}

/** The section for every split of the journey; empty when it has none. */
export function splitsSection(reports: readonly SplitReport[]): string {
  if (reports.length === 0) return '';
  const parts = reports.map((r) => {
    const arms = [...r.variants, ...(r.holdout ? [r.holdout] : [])];
    const max = Math.max(0.01, ...arms.map((a) => a.interval?.[1] ?? 0));
    const rows = arms.map((a) => armRow(a, r.baseline, max));
    const headers = ['Arm', 'Entered', 'Converted', 'Rate', '95 % interval', 'Interval', `Lift vs ${r.baseline}`, `Better than ${r.baseline}`];
    return (
      `<h3>Split <code>${escapeHtml(r.step)}</code></h3>` +
      `<p class="verdict"><strong>${escapeHtml(capitalise(r.verdict))}.</strong></p>` +
      table(headers, rows, { numeric: [1, 2, 3, 6, 7], caption: `Converted means the journey's goal event happened in the run. Compared with ${r.baseline}.` })
    );
  });
  return (
    '<h2>Splits</h2>' +
    parts.join('') +
    '<p class="muted">The interval is the 95 % Wilson score interval of the rate. "Better than" is the probability that the arm converts better than the baseline, ' +
    'from a Beta-Binomial comparison with a uniform prior. A verdict needs at least 100 customers in each arm and 10 conversions; see docs/console.md.</p>'
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
