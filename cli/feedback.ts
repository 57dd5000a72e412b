/**
 * `unbroken feedback`: survey scores per period from the store's asks and answers.
 *
 * Everything about a run counts in the period of its first ask (its cohort): the survey sent, a
 * reminder, and the answer, even when it came in the next period. So a response rate is never
 * above 100 % and a late answer does not change which customers a period's score speaks for.
 */
import { isSurveyScale, npsGroup, type SurveyScale } from '../core/surveys';
import type { LiveStore, SurveyAnswer, SurveyAsk, SurveyReport } from '../profiles/store';

/** How `--by` groups runs. Weeks start on Monday; every period is a UTC calendar one. */
export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

export interface FeedbackComment {
  at: string;
  customer: string;
  score: number;
  comment: string;
}

export interface FeedbackPeriod {
  /** First day of the period (UTC, YYYY-MM-DD). */
  start: string;
  /** Runs asked (a reminder is not a second survey sent). */
  sent: number;
  /** Asks after the first one in the same run. */
  reminders: number;
  answered: number;
  /** answered / sent, 0–1; null when nothing was sent in the period. */
  response_rate: number | null;
  /** See `surveyScore`; null without answers. */
  score: number | null;
  /** How many answers gave each score. */
  scores: Record<string, number>;
  /** NPS only. */
  promoters?: number;
  passives?: number;
  detractors?: number;
  /** Latest first. */
  comments: FeedbackComment[];
}

export interface FeedbackReport {
  survey: string;
  /** Null for a survey whose scale is known neither from a deployed journey nor from an answer. */
  scale: SurveyScale | null;
  by: Period;
  periods: FeedbackPeriod[];
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function percentOf(scores: readonly number[], counts: (score: number) => boolean): number {
  return (100 * scores.filter(counts).length) / scores.length;
}

/**
 * The headline number of a set of answers: NPS = % promoters − % detractors (−100…100),
 * CSAT = % of 4–5, thumbs = % up, each to 1 decimal; CES = the mean, to 2 decimals. Null when
 * there are no answers.
 */
export function surveyScore(scale: SurveyScale, scores: readonly number[]): number | null {
  if (scores.length === 0) return null;
  switch (scale) {
    case 'nps':
      return round(percentOf(scores, (s) => npsGroup(s) === 'promoter') - percentOf(scores, (s) => npsGroup(s) === 'detractor'), 1);
    case 'csat':
      return round(percentOf(scores, (s) => s >= 4), 1);
    case 'thumbs':
      return round(percentOf(scores, (s) => s === 1), 1);
    case 'ces':
      return round(scores.reduce((sum, s) => sum + s, 0) / scores.length, 2);
  }
}

/** The first day (UTC, YYYY-MM-DD) of the period holding `iso`. */
export function periodStart(iso: string, by: Period): string {
  const day = new Date(iso);
  day.setUTCHours(0, 0, 0, 0);
  if (by === 'month') day.setUTCDate(1);
  // getUTCDay: Sunday 0 … Saturday 6; weeks start on Monday.
  if (by === 'week') day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}

const runOf = (row: { workflowId: string; surveyId: string }) => `${row.workflowId}\u0000${row.surveyId}`;

/** When each run started: its first ask, or its answer when no ask was recorded. */
function runStarts(asks: readonly SurveyAsk[], answers: readonly SurveyAnswer[]): Map<string, string> {
  const starts = new Map<string, string>();
  const keepEarliest = (run: string, at: string) => {
    const known = starts.get(run);
    if (known === undefined || Date.parse(at) < Date.parse(known)) starts.set(run, at);
  };
  for (const ask of asks) keepEarliest(runOf(ask), ask.askedAt);
  for (const answer of answers) if (!starts.has(runOf(answer))) starts.set(runOf(answer), answer.firstAnsweredAt);
  return starts;
}

function emptyPeriod(start: string): FeedbackPeriod {
  return { start, sent: 0, reminders: 0, answered: 0, response_rate: null, score: null, scores: {}, comments: [] };
}

/** Fills in what follows from the answers of a period. */
function finishPeriod(period: FeedbackPeriod, scale: SurveyScale | null, answers: readonly SurveyAnswer[]): FeedbackPeriod {
  const scores = answers.map((a) => a.score);
  for (const score of scores) period.scores[score] = (period.scores[score] ?? 0) + 1;
  period.answered = answers.length;
  period.response_rate = period.sent === 0 ? null : round(period.answered / period.sent, 4);
  period.score = scale === null ? null : surveyScore(scale, scores);
  if (scale === 'nps') {
    period.promoters = scores.filter((s) => npsGroup(s) === 'promoter').length;
    period.passives = scores.filter((s) => npsGroup(s) === 'passive').length;
    period.detractors = scores.filter((s) => npsGroup(s) === 'detractor').length;
  }
  period.comments = answers
    .filter((a) => a.comment !== undefined && a.comment !== '')
    .sort((a, b) => Date.parse(b.answeredAt) - Date.parse(a.answeredAt))
    .map((a) => ({ at: a.answeredAt, customer: a.customerId, score: a.score, comment: a.comment as string }));
  return period;
}

/** One survey's periods, oldest first, from its rows (other surveys' rows are ignored). */
export function buildFeedback(survey: string, scale: SurveyScale | null, rows: SurveyReport, by: Period): FeedbackReport {
  const asks = rows.asks.filter((a) => a.surveyId === survey);
  const answers = rows.answers.filter((a) => a.surveyId === survey);
  const starts = runStarts(asks, answers);
  const periods = new Map<string, { period: FeedbackPeriod; answers: SurveyAnswer[] }>();
  const periodOf = (run: string) => {
    const start = periodStart(starts.get(run) as string, by);
    let entry = periods.get(start);
    if (!entry) periods.set(start, (entry = { period: emptyPeriod(start), answers: [] }));
    return entry;
  };
  const asked = new Set<string>();
  for (const ask of asks) {
    const entry = periodOf(runOf(ask));
    if (asked.has(runOf(ask))) entry.period.reminders += 1;
    else entry.period.sent += 1;
    asked.add(runOf(ask));
  }
  for (const answer of answers) periodOf(runOf(answer)).answers.push(answer);
  const ordered = [...periods.values()].sort((a, b) => a.period.start.localeCompare(b.period.start));
  return { survey, scale, by, periods: ordered.map((entry) => finishPeriod(entry.period, scale, entry.answers)) };
}

/** The surveys (and their scales) the deployed journeys' templates ask. Plans are read defensively: old versions carry no surveys. */
export function deployedSurveys(plans: readonly unknown[]): Map<string, SurveyScale> {
  const surveys = new Map<string, SurveyScale>();
  for (const plan of plans) {
    const templates = (plan as { templates?: Record<string, { survey?: { id?: unknown; scale?: unknown } }> } | null)?.templates ?? {};
    for (const template of Object.values(templates)) {
      const { id, scale } = template.survey ?? {};
      if (typeof id === 'string' && isSurveyScale(scale)) surveys.set(id, scale);
    }
  }
  return surveys;
}

export interface FeedbackQuery {
  survey?: string;
  journey?: string;
  since?: string;
  by: Period;
}

/** What `readFeedback` found: a report, or why there is none with the surveys it knows. */
export type FeedbackResult =
  | { report: FeedbackReport }
  | { problem: 'unknown_survey' | 'several_surveys' | 'no_surveys'; known: string[] };

/**
 * Reads one survey's report from the store. Known surveys are those of the deployed journeys
 * plus any with rows in the store (a journey since changed keeps its history); without
 * `survey` the one known survey is chosen.
 */
export async function readFeedback(store: LiveStore, query: FeedbackQuery): Promise<FeedbackResult> {
  const deployed = await store.deployedJourneys();
  const plans = deployed.filter((j) => query.journey === undefined || j.journeyId === query.journey).map((j) => j.plan);
  const scales = deployedSurveys(plans);
  const rows = await store.surveyReport({ journeyId: query.journey, since: query.since });
  const known = [...new Set([...scales.keys(), ...rows.asks.map((a) => a.surveyId), ...rows.answers.map((a) => a.surveyId)])].sort();
  const survey = query.survey ?? (known.length === 1 ? known[0] : undefined);
  if (survey === undefined) return { problem: known.length === 0 ? 'no_surveys' : 'several_surveys', known };
  if (!known.includes(survey)) return { problem: 'unknown_survey', known };
  const answered = rows.answers.find((a) => a.surveyId === survey)?.scale;
  const scale = scales.get(survey) ?? (isSurveyScale(answered) ? answered : null);
  return { report: buildFeedback(survey, scale, rows, query.by) };
}

const SCORE_NAMES: Record<SurveyScale, string> = { nps: 'NPS', csat: 'CSAT %', ces: 'CES mean', thumbs: 'thumbs up %' };

function formatScore(scale: SurveyScale | null, score: number | null): string {
  if (score === null) return '-';
  if (scale === 'nps') return `${score > 0 ? '+' : ''}${score.toFixed(1)}`;
  return scale === 'ces' ? score.toFixed(2) : score.toFixed(1);
}

/** A table of the periods, then the comments, for people. */
export function formatFeedback(report: FeedbackReport): string {
  const scoreName = report.scale === null ? 'score' : SCORE_NAMES[report.scale];
  const lines = [`${report.survey} (${report.scale ?? 'scale unknown'}), by ${report.by}`];
  if (report.periods.length === 0) return `${lines[0]}\nno surveys asked in this range`;
  const rows = [['period', 'sent', 'reminders', 'answered', 'response', scoreName]];
  for (const p of report.periods) {
    const rate = p.response_rate === null ? '-' : `${(100 * p.response_rate).toFixed(1)}%`;
    rows.push([p.start, String(p.sent), String(p.reminders), String(p.answered), rate, formatScore(report.scale, p.score)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) lines.push(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  const comments = report.periods.flatMap((p) => p.comments).sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  if (comments.length) {
    lines.push('', 'comments, latest first:');
    for (const c of comments) lines.push(`  ${c.at.slice(0, 16).replace('T', ' ')}  ${c.customer}  ${c.score}: ${JSON.stringify(c.comment)}`);
  }
  return lines.join('\n');
}
