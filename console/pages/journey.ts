/**
 * The page of one journey: its facts, its picture (the layout of `unbroken graph`) with each
 * step's numbers drawn in its box and repeated in a table, the split results, and the runs ended
 * per day by outcome. Step ids, names, templates and conditions come from YAML: the picture
 * escapes them (cli/graph/svg.ts), the tables through `escapeHtml`.
 */
import { journeyGraph, type GraphNode, type JourneyGraph } from '../../cli/graph/model';
import { toSvg, xmlEscape } from '../../cli/graph/svg';
import { allSteps, type JourneyPlan } from '../../compiler/plan';
import { conversionRate } from '../../core/statistics';
import type { DeployedJourney, JourneyPageNumbers, StepNumbers } from '../../profiles/store';
import { journeyHref, pauseForm, percent } from './journeys';
import { escapeHtml, table, time, type ConsolePage } from './layout';

/** Days the outcomes chart shows, today (UTC) included. */
export const CHART_DAYS = 30;

/** What the page is built from. */
export interface JourneyView {
  journeyId: string;
  /** The live deployment; absent when the journey was withdrawn. */
  deployed?: DeployedJourney;
  /** The version the numbers are limited to; absent for all versions. */
  version?: string;
  numbers: JourneyPageNumbers;
  /** The annotated picture (`journeyPicture`), an SVG element. */
  picture: string;
  /** The plan the picture shows, for the steps table. */
  plan: JourneyPlan;
  /** The chart's days, oldest first (`chartDays`). */
  days: readonly string[];
  /** The split results, ready HTML from console/pages/splits.ts; empty when there are none. */
  splits?: string;
}

/** The `CHART_DAYS` UTC days up to the one of `now`, as `YYYY-MM-DD`, oldest first. */
export function chartDays(now: Date): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: CHART_DAYS }, (_, i) => new Date(today - (CHART_DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

export function journeyPage(view: JourneyView, csrf: string): ConsolePage {
  return {
    title: `Journey ${view.journeyId}`,
    csrf,
    body: [
      facts(view, csrf),
      versionForm(view),
      '<h2>The journey</h2>',
      `<figure class="picture">${view.picture}<figcaption class="muted">Each box: runs that passed the step (counted once), runs waiting there now, and for a send what went out and what was skipped, by reason. The same numbers are in the table below.</figcaption></figure>`,
      stepsTable(view),
      // The split results (console/pages/splits.ts), after the picture.
      view.splits ?? '',
      outcomesSection(view),
    ].join(''),
  };
}

/** Converted runs out of entered ones (core/statistics.ts), or undefined before anyone entered. */
export function journeyConversion(n: JourneyPageNumbers): number | undefined {
  return conversionRate(n.entered, n.outcomes);
}

/** Ended runs by outcome as `completed 3, converted 1`. */
function outcomeText(outcomes: Readonly<Record<string, number>>): string {
  const parts = Object.entries(outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([o, n]) => `${escapeHtml(o)} ${n}`);
  return parts.length === 0 ? '<span class="muted">none yet</span>' : parts.join(', ');
}

function facts(view: JourneyView, csrf: string): string {
  const d = view.deployed;
  const status = d === undefined ? '<span class="muted">withdrawn</span>' : d.paused ? '<span class="bad">paused</span>' : '<span class="good">live</span>';
  const n = view.numbers;
  const rows: [string, string][] = [
    ['Status', d === undefined ? status : `${status} ${pauseForm(d, csrf)}`],
    ['Deployed version', d === undefined ? '—' : `<code>${escapeHtml(d.version)}</code>, ${time(d.deployedAt)}`],
    ['Numbers of', view.version === undefined ? 'all versions' : `version <code>${escapeHtml(view.version)}</code>`],
    ['Entered', String(n.entered)],
    ['Inside now', String(n.active)],
    ['Outcomes', outcomeText(n.outcomes)],
    ['Conversion', percent(journeyConversion(n))],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function versionForm(view: JourneyView): string {
  const option = (value: string, label: string) => `<option value="${escapeHtml(value)}"${(view.version ?? '') === value ? ' selected' : ''}>${label}</option>`;
  const options = [
    option('', 'all versions'),
    ...view.numbers.versions.map((v) => option(v.version, `${escapeHtml(v.version.slice(0, 12))} · deployed ${escapeHtml(v.deployedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}`)),
  ];
  return (
    `<form method="get" action="${journeyHref(view.journeyId)}" class="versions">` +
    `<label for="version">Version</label> <select id="version" name="version">${options.join('')}</select> <button type="submit">Show</button></form>`
  );
}

function skippedText(skipped: Readonly<Record<string, number>>): string {
  return Object.entries(skipped)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

const totalSkipped = (s: StepNumbers) => Object.values(s.skipped).reduce((a, b) => a + b, 0);

function stepsTable(view: JourneyView): string {
  const byId = new Map(view.numbers.steps.map((s) => [s.stepId, s]));
  const steps = allSteps(view.plan.steps);
  const inPlan = new Set(steps.map((s) => s.id));
  const rows = steps.map((step) => stepRow(step.id, step.kind, byId.get(step.id)));
  // Steps of other versions (all versions chosen) are not in this picture but still counted.
  for (const s of view.numbers.steps) if (!inPlan.has(s.stepId) && s.stepId !== 'entry') rows.push(stepRow(s.stepId, 'other version', s));
  return table(['Step', 'Kind', 'Passed', 'Waiting now', 'Sent', 'Skipped', 'Skipped by reason'], rows, {
    numeric: [2, 3, 4, 5],
    caption: 'Passed: runs with any record of the step, counted once. Waiting now: runs not ended whose latest record is of the step.',
  });
}

function stepRow(stepId: string, kind: string, s: StepNumbers | undefined): string[] {
  const reasons = s === undefined ? '' : skippedText(s.skipped);
  return [
    `<code>${escapeHtml(stepId)}</code>`,
    escapeHtml(kind),
    String(s?.passed ?? 0),
    String(s?.waiting ?? 0),
    String(s?.sent ?? 0),
    String(s === undefined ? 0 : totalSkipped(s)),
    reasons === '' ? '' : escapeHtml(reasons),
  ];
}

/** The drawing of `plan` with each box's numbers as notes: the picture on the page. */
export function annotatedGraph(plan: JourneyPlan, n: JourneyPageNumbers): JourneyGraph {
  const graph = journeyGraph(plan);
  const byId = new Map(n.steps.map((s) => [s.stepId, s]));
  const sends = new Set(allSteps(plan.steps).filter((s) => s.kind === 'send' || s.kind === 'do').map((s) => s.id));
  const notes = (node: GraphNode): string[] => {
    if (node.stepId !== undefined) return stepNotes(byId.get(node.stepId), sends.has(node.stepId));
    if (node.shape === 'start') return [`entered ${n.entered}`, ...waitingNote(byId.get('entry'))];
    // The ways out (completed, converted, exited) are drawn with the outcome as their title.
    if (node.shape !== 'end') return [];
    const runs = n.outcomes[node.title] ?? 0;
    return [`${runs} run${runs === 1 ? '' : 's'}`];
  };
  return { ...graph, nodes: graph.nodes.map((node) => ({ ...node, notes: notes(node) })) };
}

function waitingNote(s: StepNumbers | undefined): string[] {
  return s !== undefined && s.waiting > 0 ? [`waiting here now ${s.waiting}`] : [];
}

function stepNotes(s: StepNumbers | undefined, send: boolean): string[] {
  const lines = [`passed ${s?.passed ?? 0} · waiting ${s?.waiting ?? 0}`];
  const skipped = s === undefined ? 0 : totalSkipped(s);
  if (send || (s !== undefined && (s.sent > 0 || skipped > 0))) lines.push(`sent ${s?.sent ?? 0} · skipped ${skipped}`);
  if (s !== undefined && skipped > 0) lines.push(`skipped: ${skippedText(s.skipped)}`);
  return lines;
}

/** The annotated picture as an SVG element for inline use (the XML prolog-free output of `toSvg`). */
export async function journeyPicture(plan: JourneyPlan, n: JourneyPageNumbers): Promise<string> {
  const svg = await toSvg(annotatedGraph(plan, n));
  // Inline, the picture is an image described by its title; the table below carries the numbers.
  return svg.replace('<svg ', '<svg role="img" aria-labelledby="journey-picture-title" ').replace('<title>', '<title id="journey-picture-title">');
}

const OUTCOME_COLORS: Record<string, string> = { converted: '#2e8b57', completed: '#3b6fd8', exited: '#c98a00', failed: '#c0392b' };
const OTHER_COLOR = '#777777';
const BAR = 18;
const GAP = 6;
const CHART_H = 160;
const LEFT = 36;
const TOP = 28;

function outcomeOrder(view: JourneyView): string[] {
  const seen = new Set(view.numbers.days.flatMap((d) => Object.keys(d.outcomes)));
  return [...seen].sort((a, b) => a.localeCompare(b));
}

function outcomesSection(view: JourneyView): string {
  const outcomes = outcomeOrder(view);
  const byDay = new Map(view.numbers.days.map((d) => [d.day, d.outcomes]));
  const caption = `Runs ended per UTC day by outcome, ${view.days[0]} to ${view.days[view.days.length - 1]}`;
  if (outcomes.length === 0) return `<h2>Outcomes over time</h2><p class="muted">No run ended in the last ${CHART_DAYS} days.</p>`;
  const rows = view.days.filter((d) => byDay.has(d)).map((day) => [day, ...outcomes.map((o) => String(byDay.get(day)?.[o] ?? 0))]);
  return (
    '<h2>Outcomes over time</h2>' +
    `<figure class="picture">${outcomeChart(view.days, byDay, outcomes, caption)}</figure>` +
    `<details><summary>The numbers by day</summary>${table(['Day', ...outcomes], rows, { numeric: outcomes.map((_, i) => i + 1), caption: 'Days without any are left out.' })}</details>`
  );
}

/** A stacked bar per day, one colour per outcome, with a legend; no script, presentation attributes only. */
function outcomeChart(days: readonly string[], byDay: ReadonlyMap<string, Record<string, number>>, outcomes: readonly string[], caption: string): string {
  const max = Math.max(1, ...days.map((d) => Object.values(byDay.get(d) ?? {}).reduce((a, b) => a + b, 0)));
  const width = LEFT + days.length * (BAR + GAP) + 12;
  const height = TOP + CHART_H + 34;
  const scale = CHART_H / max;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
  parts.push(axis(width, max));
  days.forEach((day, i) => {
    const x = LEFT + i * (BAR + GAP);
    let y = TOP + CHART_H;
    for (const o of outcomes) {
      const count = byDay.get(day)?.[o] ?? 0;
      if (count === 0) continue;
      const h = count * scale;
      y -= h;
      parts.push(`<rect x="${x}" y="${y.toFixed(1)}" width="${BAR}" height="${h.toFixed(1)}" fill="${OUTCOME_COLORS[o] ?? OTHER_COLOR}"><title>${xmlEscape(`${day}: ${o} ${count}`)}</title></rect>`);
    }
    // A label a week apart, counted back from today's, so the newest day is always named.
    if ((days.length - 1 - i) % 7 === 0) parts.push(`<text x="${x + BAR / 2}" y="${TOP + CHART_H + 16}" text-anchor="middle" font-size="11" fill="#333333">${day.slice(5)}</text>`);
  });
  outcomes.forEach((o, i) => {
    const x = LEFT + i * 110;
    parts.push(`<rect x="${x}" y="6" width="12" height="12" fill="${OUTCOME_COLORS[o] ?? OTHER_COLOR}"/><text x="${x + 16}" y="16" font-size="12" fill="#1a1a1a">${xmlEscape(o)}</text>`);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="outcomes-chart-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif">` +
    `<title id="outcomes-chart-title">${xmlEscape(caption)}</title>${parts.join('')}</svg>`
  );
}

function axis(width: number, max: number): string {
  const base = TOP + CHART_H;
  return (
    `<line x1="${LEFT - 4}" y1="${base}" x2="${width - 8}" y2="${base}" stroke="#555555"/>` +
    `<line x1="${LEFT - 4}" y1="${TOP}" x2="${width - 8}" y2="${TOP}" stroke="#dddddd"/>` +
    `<text x="${LEFT - 8}" y="${TOP + 4}" text-anchor="end" font-size="11" fill="#333333">${max}</text>` +
    `<text x="${LEFT - 8}" y="${base + 4}" text-anchor="end" font-size="11" fill="#333333">0</text>`
  );
}
