/**
 * A template's `survey:` and the variables that place it: what the compiler checks beyond the
 * schema (the channel, the placement variables, one scale per survey across templates).
 */
import { isSurveyScale, SURVEY_VARIABLES as V, type SurveyScale, type SurveySpec } from '../core/surveys';
import { stepBranches, type Step, type TemplatePlan } from './plan';
import type { Report } from './issues';
import { checkLiquid, readsRoot } from './liquid';
import type { YamlPath } from './source';

/** Where each survey variable may stand: the button row only in HTML, the link list only in text. */
const PLACES: Record<string, { what: string; parts: readonly string[]; fix: string }> = {
  [V.buttons]: { what: 'the HTML row of score buttons', parts: ['html'], fix: `in text use {{ ${V.links} }}, in sms {{ ${V.url} }}` },
  [V.links]: { what: 'the list of score links for the text part', parts: ['text'], fix: `in html use {{ ${V.buttons} }}, in sms {{ ${V.url} }}` },
  [V.url]: { what: 'the link to the answer page', parts: ['text', 'html', 'body'], fix: 'put it in the text, html or sms body' },
};

/** Template parts that may hold text, at the top level and in channel sections. */
const PARTS = ['subject', 'from', 'text', 'html', 'body', 'url'] as const;
const SECTIONS = ['email', 'sms', 'webhook'] as const;

/** The survey each id was first seen with, across the templates of one compile. */
export type SurveyRegistry = Map<string, { scale: SurveyScale; file: string }>;

type Raw = Record<string, unknown>;
const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The template's survey, or undefined when it has none or it is wrong (reported). `surveys`
 * collects the scale of each id, so a second template asking one survey on another scale is an
 * error: its answers could not be counted together.
 */
export function compileSurvey(t: Raw, channel: string | undefined, file: string, surveys: SurveyRegistry | undefined, report: Report): SurveySpec | undefined {
  const raw = t.survey;
  if (!isMap(raw) || typeof raw.id !== 'string' || !isSurveyScale(raw.scale) || typeof raw.question !== 'string') return undefined; // the schema reported it
  if (channel === 'webhook') {
    report(
      'survey_not_for_channel',
      ['survey'],
      'a webhook template cannot ask a survey: a webhook goes to your own systems, not to a customer',
      'use channel: email (score buttons) or sms (a link to the answer page), or remove survey:',
      'key',
    );
    return undefined;
  }
  if (!checkLiquid(raw.question, ['survey', 'question'], report)) return undefined;
  const first = surveys?.get(raw.id);
  if (first !== undefined && first.scale !== raw.scale) {
    report(
      'survey_scale_conflict',
      ['survey', 'scale'],
      `survey "${raw.id}" is asked on the ${first.scale} scale in ${first.file}; one survey keeps one scale`,
      `use scale: ${first.scale} here too, or give this survey its own id`,
    );
    return undefined;
  }
  if (first === undefined) surveys?.set(raw.id, { scale: raw.scale, file });
  return { id: raw.id, scale: raw.scale, question: raw.question };
}

/**
 * Reports survey variables in parts that cannot show them, or in a template without a survey
 * (they would render empty, and the customer would see no way to answer).
 */
export function checkSurveyVariables(t: Raw, hasSurvey: boolean, report: Report): void {
  const places: [unknown, YamlPath, string][] = PARTS.map((part) => [t[part], [part], part]);
  for (const section of SECTIONS) {
    const raw = t[section];
    if (isMap(raw)) for (const part of PARTS) places.push([raw[part], [section, part], part]);
  }
  for (const [value, path, part] of places) {
    if (typeof value !== 'string') continue;
    for (const name of Object.values(V).filter((n) => value.includes(n) && readsRoot(value, n))) {
      const rule = PLACES[name];
      if (!hasSurvey) {
        report(
          'survey_variable_without_survey',
          path,
          `"${part}" reads ${name}, but the template asks no survey`,
          `add survey: { id: <survey id>, scale: nps, question: "…" }, or remove {{ ${name} }}`,
        );
      } else if (!rule.parts.includes(part)) {
        report('survey_variable_misplaced', path, `{{ ${name} }} (${rule.what}) cannot stand in "${part}"`, rule.fix);
      }
    }
  }
}

/**
 * The most times each survey can be asked in one run: sends in a row add up, branches (if,
 * split, wait_for) count their longest. Journeys have no loops, so this is exact per path.
 */
export function surveyAsksPerRun(steps: readonly Step[], templates: Readonly<Record<string, TemplatePlan>>): Map<string, number> {
  const total = new Map<string, number>();
  for (const step of steps) {
    const branches = stepBranches(step);
    if (step.kind === 'send') {
      const id = templates[step.template]?.survey?.id;
      if (id !== undefined) total.set(id, (total.get(id) ?? 0) + 1);
    } else if (branches.length > 0) {
      const most = new Map<string, number>();
      for (const branch of branches) {
        for (const [id, n] of surveyAsksPerRun(branch, templates)) most.set(id, Math.max(most.get(id) ?? 0, n));
      }
      for (const [id, n] of most) total.set(id, (total.get(id) ?? 0) + n);
    }
  }
  return total;
}
