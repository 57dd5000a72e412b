/**
 * Survey scales and the rules every part reads them by: the compiler (which scales exist), the
 * renderer (buttons and their labels), the answer endpoint (which scores are valid) and the
 * report (NPS groups). Sandbox-safe, like all of core/.
 */

/** A scale's range and the words at its two ends, shown beside the buttons. */
export interface ScaleRange {
  min: number;
  max: number;
  low: string;
  high: string;
}

/** The scales a template's `survey.scale` may name. */
export const SCALES = {
  nps: { min: 0, max: 10, low: 'Not at all likely', high: 'Extremely likely' },
  csat: { min: 1, max: 5, low: 'Very dissatisfied', high: 'Very satisfied' },
  ces: { min: 1, max: 7, low: 'Very difficult', high: 'Very easy' },
  thumbs: { min: 0, max: 1, low: 'No', high: 'Yes' },
} as const satisfies Record<string, ScaleRange>;

/** The name of a scale: `nps`, `csat`, `ces` or `thumbs`. */
export type SurveyScale = keyof typeof SCALES;

/** Every scale name, in the order the docs list them. */
export const SURVEY_SCALES = ['nps', 'csat', 'ces', 'thumbs'] as const satisfies readonly SurveyScale[];

/** A survey id: kebab-case, as template and journey ids are; it also names the profile traits. */
export const SURVEY_ID_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** What a template's `survey:` compiles to (`TemplatePlan.survey`); the question is Liquid. */
export interface SurveySpec {
  id: string;
  scale: SurveyScale;
  question: string;
}

/** The event an answer becomes, which journeys `wait_for` and branch on. */
export const SURVEY_ANSWERED_EVENT = 'survey_answered';

/**
 * The template variables that place a survey: the HTML row of score buttons, the text list of
 * score links, and the answer page link. The compiler checks where they stand; the sender fills them.
 */
export const SURVEY_VARIABLES = { buttons: 'survey_buttons', links: 'survey_links', url: 'survey_url' } as const;

/** How many times one run may re-send the same survey when its journey says nothing. */
export const DEFAULT_SURVEY_REMINDERS = 1;

/** Whether a value names a scale. */
export function isSurveyScale(value: unknown): value is SurveyScale {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(SCALES, value);
}

/** Whether `score` is a whole number within the scale's range. */
export function isValidScore(scale: SurveyScale, score: unknown): score is number {
  const range: ScaleRange = SCALES[scale];
  return typeof score === 'number' && Number.isInteger(score) && score >= range.min && score <= range.max;
}

/** Every score of a scale, lowest first. */
export function scaleScores(scale: SurveyScale): number[] {
  const { min, max }: ScaleRange = SCALES[scale];
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

/** The NPS group of a 0–10 score: promoters 9–10, passives 7–8, detractors 0–6. */
export type NpsGroup = 'promoter' | 'passive' | 'detractor';

/** The NPS group of a score; only meaningful on the `nps` scale. */
export function npsGroup(score: number): NpsGroup {
  if (score >= 9) return 'promoter';
  if (score >= 7) return 'passive';
  return 'detractor';
}

/** How one score is shown: `short` on a button, `long` in the text part and as the button's title. */
export interface ScoreLabel {
  score: number;
  short: string;
  long: string;
}

/** Words for scores between the two ends, where a scale has them. */
const MIDDLE_WORDS: Partial<Record<SurveyScale, Record<number, string>>> = {
  csat: { 2: 'Dissatisfied', 3: 'Neutral', 4: 'Satisfied' },
  ces: { 4: 'Neither easy nor difficult' },
};

/** The label of every score of a scale, lowest first. */
export function scoreLabels(scale: SurveyScale): ScoreLabel[] {
  const range: ScaleRange = SCALES[scale];
  return scaleScores(scale).map((score) => {
    const words = score === range.min ? range.low : score === range.max ? range.high : MIDDLE_WORDS[scale]?.[score];
    if (scale === 'thumbs') {
      const thumb = score === 1 ? '\u{1F44D}' : '\u{1F44E}';
      return { score, short: `${thumb} ${words}`, long: `${thumb} ${words}` };
    }
    return { score, short: String(score), long: words === undefined ? String(score) : `${score} (${words})` };
  });
}

/** The profile traits an answer sets: `last_<survey id, - as _>_score` and `…_at`. */
export function surveyTraitNames(surveyId: string): { score: string; at: string } {
  const stem = `last_${surveyId.replace(/-/g, '_')}`;
  return { score: `${stem}_score`, at: `${stem}_at` };
}
