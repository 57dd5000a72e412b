/**
 * A survey message's answer links, rendered into its parts: in HTML a row of score buttons, in
 * text one line per score, in an sms the link to the answer page. Each link carries a token
 * signed for this customer, run, step and survey (delivery/survey-tokens.ts).
 *
 * The template places them with `{{ survey_buttons }}`, `{{ survey_links }}` and
 * `{{ survey_url }}`. Those variables render as markers that no escaping changes, and the markers
 * are replaced after rendering, so the button HTML is never escaped by the html engine and no
 * template value can ever inject into it.
 */
import { SCALES, scoreLabels, SURVEY_VARIABLES, type SurveySpec } from '../../core/surveys';
import { surveyScoreLink, type SurveyLinkBuilder } from '../../delivery/survey-tokens';
import { liquidEngines } from '../../templating/liquid';
import { renderTemplate, TemplateRenderError, type RenderContext } from '../render';
import type { JourneyContext } from '../types';
import { journeyTime } from './unsubscribe';

/** A private-use character around each marker: no escaping changes it, and no real text has it. */
const marker = (name: string) => `\uE000${name}\uE000`;
const MARKERS = { buttons: marker(SURVEY_VARIABLES.buttons), links: marker(SURVEY_VARIABLES.links), url: marker(SURVEY_VARIABLES.url) };

/** The render context entries of a survey template: its placement variables, as markers. */
export const SURVEY_MARKERS: Readonly<Record<string, string>> = {
  [SURVEY_VARIABLES.buttons]: MARKERS.buttons,
  [SURVEY_VARIABLES.links]: MARKERS.links,
  [SURVEY_VARIABLES.url]: MARKERS.url,
};

/** A rendered survey: the question (plain text), the answer page and one link per score. */
export interface RenderedSurvey {
  question: string;
  page: string;
  scores: { score: number; short: string; long: string; url: string }[];
  low: string;
  high: string;
}

/** Where a survey is asked: the run and step its links are bound to. */
export interface SurveyAsk {
  context: JourneyContext;
  stepId: string;
  /** The journey's time of the send: the link's lifetime counts from it. */
  now?: string;
}

/**
 * Mints the links and renders the question (as text; it is escaped where it goes into HTML).
 * Without a link builder nobody could answer, so the send fails as a template error saying why.
 */
export async function renderSurvey(spec: SurveySpec, ask: SurveyAsk, ctx: RenderContext, links: SurveyLinkBuilder | undefined, templateId: string): Promise<RenderedSurvey> {
  if (links === undefined) {
    throw new TemplateRenderError(
      `template ${templateId} asks survey ${spec.id}, but this worker cannot sign survey links (no delivery policy with UNBROKEN_PUBLIC_URL and UNBROKEN_UNSUBSCRIBE_SECRET)`,
      templateId,
      'survey',
    );
  }
  const question = (await renderTemplate(spec.question, ctx, 'text', { template: templateId, part: 'survey.question' })).trim();
  const page = links({
    customerId: ask.context.customerId,
    journeyId: ask.context.journeyId,
    workflowId: ask.context.workflowId,
    stepId: ask.stepId,
    surveyId: spec.id,
    scale: spec.scale,
  }, journeyTime(ask.now));
  const scores = scoreLabels(spec.scale).map((label) => ({ ...label, url: surveyScoreLink(page, label.score) }));
  return { question, page, scores, low: SCALES[spec.scale].low, high: SCALES[spec.scale].high };
}

/** Replaces the markers in a rendered html part; without `{{ survey_buttons }}` the buttons go at the end of the body. */
export function placeInHtml(html: string, survey: RenderedSurvey): string {
  const buttons = surveyButtonsHtml(survey);
  const placed = html.includes(MARKERS.buttons) || html.includes(MARKERS.links);
  const out = html
    .replaceAll(MARKERS.buttons, buttons)
    .replaceAll(MARKERS.links, buttons)
    .replaceAll(MARKERS.url, escapeHtml(survey.page));
  if (placed) return out;
  const end = out.search(/<\/body\s*>(?![\s\S]*<\/body)/i);
  return end === -1 ? `${out}\n${buttons}` : `${out.slice(0, end)}${buttons}\n${out.slice(end)}`;
}

/** Replaces the markers in a rendered text part; without `{{ survey_links }}` the links go after the body. */
export function placeInText(text: string, survey: RenderedSurvey): string {
  const lines = surveyLinksText(survey);
  const placed = text.includes(MARKERS.links) || text.includes(MARKERS.buttons);
  const out = text.replaceAll(MARKERS.links, lines).replaceAll(MARKERS.buttons, lines).replaceAll(MARKERS.url, survey.page);
  if (placed) return out;
  return out.trim() === '' ? lines : `${out.trimEnd()}\n\n${lines}`;
}

/** An sms: its body with `{{ survey_url }}` filled in, or the question and the page link after it. */
export function placeInSms(body: string, survey: RenderedSurvey): string {
  if (body.includes(MARKERS.url)) return body.replaceAll(MARKERS.url, survey.page);
  const line = `${survey.question} ${survey.page}`;
  return body.trim() === '' ? line : `${body.trimEnd()}\n${line}`;
}

/** The question and one line per score with its link, for the text part. */
export function surveyLinksText(survey: RenderedSurvey): string {
  return [survey.question, '', ...survey.scores.map((s) => `${s.long}: ${s.url}`)].join('\n');
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const BUTTON_STYLE =
  `display:inline-block;min-width:24px;padding:8px 6px;border:1px solid #8a8a8a;border-radius:4px;background-color:#f2f2f2;` +
  `color:#1a1a1a;${FONT}font-size:15px;line-height:18px;text-align:center;text-decoration:none;`;

/**
 * The question and a row of score buttons: a table with inline styles, since many mail readers
 * drop <style> and flexbox; each button is a plain link, so it works with no CSS at all.
 */
export function surveyButtonsHtml(survey: RenderedSurvey): string {
  const cells = survey.scores
    .map(
      (s) =>
        `<td style="padding:2px;"><a href="${escapeHtml(s.url)}" title="${escapeHtml(s.long)}" style="${BUTTON_STYLE}">${escapeHtml(s.short)}</a></td>`,
    )
    .join('');
  const columns = survey.scores.length;
  const question = `<tr><td colspan="${columns}" style="padding:0 0 8px 0;${FONT}font-size:16px;font-weight:bold;color:#1a1a1a;">${escapeHtml(survey.question)}</td></tr>`;
  // Thumbs buttons carry their own words; numeric scales say what their two ends mean.
  const ends =
    survey.scores.length > 2
      ? `<tr><td colspan="${Math.ceil(columns / 2)}" style="padding:4px 2px 0 2px;${FONT}font-size:12px;color:#555555;text-align:left;">${escapeHtml(survey.low)}</td>` +
        `<td colspan="${Math.floor(columns / 2)}" style="padding:4px 2px 0 2px;${FONT}font-size:12px;color:#555555;text-align:right;">${escapeHtml(survey.high)}</td></tr>`
      : '';
  return (
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:16px 0;">' +
    `${question}<tr>${cells}</tr>${ends}</table>`
  );
}

const ESCAPED_VALUE = liquidEngines.html.parse('{{ v }}');

/** HTML-escapes text exactly as html templates escape their values. */
function escapeHtml(text: string): string {
  return String(liquidEngines.html.renderSync(ESCAPED_VALUE, { v: text }));
}
