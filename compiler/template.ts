import { MARKETING } from '../core/categories';
import { SURVEY_VARIABLES, type SurveySpec } from '../core/surveys';
import type { TemplateParts, TemplatePlan } from './plan';
import { Reporter, type CompileError } from './errors';
import { checkShape, type Report } from './issues';
import { checkLiquid } from './liquid';
import { parseYaml, type YamlPath } from './source';
import { CHANNELS, KEBAB_RE, validateSchemas } from './schema';
import { describeValue } from './durations';
import { smsLengthWarning } from './sms';
import { deepFreeze } from './hash';
import { checkSurveyVariables, compileSurvey, type SurveyRegistry } from './survey';

/** Where a template file lives, for plans (`file`) and for error reports (`errorFile`). */
export interface SourceNames {
  /** Path relative to the definitions folder, e.g. `templates/cart-reminder.yaml`. */
  file: string;
  /** Path relative to the working directory, used in errors. */
  errorFile: string;
}

type Channel = (typeof CHANNELS)[number];
type TextKey = 'subject' | 'from' | 'text' | 'html' | 'body' | 'url';
const TEXT_KEYS: readonly TextKey[] = ['subject', 'from', 'text', 'html', 'body', 'url'];

/** Which text keys each channel uses; anything else is a mistake worth reporting. */
const CHANNEL_KEYS: Record<Channel, readonly TextKey[]> = {
  email: ['subject', 'from', 'text', 'html'],
  sms: ['from', 'body'],
  webhook: ['url', 'body'],
};

/** Base name without `.yaml`/`.yml`: what the id inside must equal. */
export function fileStem(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.ya?ml$/, '');
}

/** Reports when the file name is not kebab-case or the id inside differs from it. */
export function checkIdMatchesFile(kind: 'journey' | 'template' | 'audience', id: unknown, names: SourceNames, report: Report): void {
  const stem = fileStem(names.file);
  if (!KEBAB_RE.test(stem)) {
    report('invalid_file_name', [], `file name "${stem}" is not kebab-case`, `rename it to lowercase words joined by dashes, e.g. ${kind}s/abandoned-cart.yaml`);
  } else if (typeof id === 'string' && KEBAB_RE.test(id) && id !== stem) {
    report('id_mismatch', [kind], `${kind} id "${id}" does not match the file name "${stem}"`, `rename the file to ${id}.yaml or change "${kind}:" to ${stem}; they must agree`);
  }
}

/**
 * Compiles one template file's text; returns the plan only when there were no errors. `surveys`,
 * shared by the templates of one compile, holds the scale each survey id was first asked on.
 */
export function compileTemplateSource(
  text: string,
  names: SourceNames,
  surveys?: SurveyRegistry,
): { plan?: TemplatePlan; errors: CompileError[]; warnings: CompileError[] } {
  const { file: source, problems } = parseYaml(text);
  const r = new Reporter(names.errorFile, source);
  const report: Report = (code, path, message, hint, anchor) => r.add(code, path, message, hint, { anchor });
  for (const p of problems) r.addAt(p.code, p.position.line, p.position.column, p.message, p.hint);
  if (!source) return { errors: r.errors, warnings: r.warnings };

  const raw = source.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    report('not_a_map', [], `a template file must be a map with template, channel and the message text, got ${describeValue(raw)}`, 'start with "template: <file name>" and "channel: email"');
    return { errors: r.errors, warnings: r.warnings };
  }
  const t = raw as Record<string, unknown>;
  checkShape(validateSchemas.template, t, [], report);
  checkIdMatchesFile('template', t.template, names, report);

  const channel = (CHANNELS as readonly unknown[]).includes(t.channel) ? (t.channel as Channel) : undefined;
  const strings: Partial<Record<TextKey, string>> = {};
  for (const key of TEXT_KEYS) {
    const v = t[key];
    if (typeof v !== 'string') continue;
    strings[key] = v;
    const path: YamlPath = [key];
    if (channel && !CHANNEL_KEYS[channel].includes(key)) {
      report('key_not_for_channel', path, `"${key}" is not used by ${channel} templates`, `${channel} templates use: ${CHANNEL_KEYS[channel].join(', ')}`, 'key');
    } else {
      checkLiquid(v, path, report);
    }
  }
  const survey = compileSurvey(t, channel, names.file, surveys, report);
  checkSurveyVariables(t, t.survey !== undefined, report);
  if (channel) checkRequiredParts(channel, t, ['channel'], '', report, t.survey !== undefined);
  const alternatives = channelSections(t, channel, report);

  if (r.count > 0 || channel === undefined || typeof t.template !== 'string') return { errors: r.errors, warnings: r.warnings };
  warnLongSms(t, channel, survey, r);
  const plan: TemplatePlan = {
    id: t.template,
    channel,
    category: typeof t.category === 'string' ? t.category : MARKETING,
    ...strings,
    ...(Object.keys(alternatives).length > 0 ? { alternatives } : {}),
    ...(survey ? { survey } : {}),
    file: names.file,
  };
  return { plan: deepFreeze(plan), errors: r.errors, warnings: r.warnings };
}

/**
 * Warns about sms texts (the template's own, or its `sms:` section) that take more than one
 * segment, with what a survey adds (its question and link) where the body does not place it.
 */
function warnLongSms(t: Record<string, unknown>, channel: Channel, survey: SurveySpec | undefined, r: Reporter): void {
  const section = t.sms as Record<string, unknown> | undefined;
  const places: [unknown, YamlPath][] = [];
  if (channel === 'sms') places.push([t.body, t.body === undefined ? ['survey'] : ['body']]);
  if (section !== undefined) places.push([section.body, section.body === undefined ? ['sms'] : ['sms', 'body']]);
  for (const [body, path] of places) {
    const text = smsAsSent(body, survey);
    const warning = text === undefined ? null : smsLengthWarning(text);
    if (warning) r.warn('sms_too_long', path, warning.message, warning.hint);
  }
}

/** An sms body as the renderer completes it: a survey not placed with `{{ survey_url }}` adds its question and link. */
function smsAsSent(body: unknown, survey: SurveySpec | undefined): string | undefined {
  const text = typeof body === 'string' ? body : undefined;
  if (survey === undefined || (text !== undefined && text.includes(SURVEY_VARIABLES.url))) return text;
  return `${text ?? ''}\n${survey.question} {{ ${SURVEY_VARIABLES.url} }}`;
}

/**
 * Reports the parts a channel cannot do without; `at` is where to point, `section` names an `sms:`
 * section. A survey is content of its own: with one, an email needs no text or html and an sms no body.
 */
function checkRequiredParts(channel: Channel, parts: Record<string, unknown>, at: YamlPath, section: string, reportTo: Report, survey: boolean): void {
  const where = section ? `the "${section}" section` : `${channel === 'email' ? 'an' : 'a'} ${channel} template`;
  const report: Report = (code, path, message, hint) => reportTo(code, path, message, hint, section ? 'key' : undefined);
  if (channel === 'email') {
    if (parts.subject === undefined) report('missing_key', at, `${where} needs a "subject"`, 'add e.g. subject: "Your cart is waiting"');
    if (parts.text === undefined && parts.html === undefined && !survey) report('missing_key', at, `${where} needs "text" or "html" (or both)`, 'add e.g. text: | followed by the message');
  } else if (channel === 'sms' && parts.body === undefined && !survey) {
    report('missing_key', at, `${where} needs a "body"`, 'add e.g. body: "Your cart is waiting: {{ data.link }}"');
  } else if (channel === 'webhook') {
    if (parts.url === undefined) report('missing_key', at, `${where} needs a "url"`, 'add e.g. url: https://hooks.example.com/cart');
    if (parts.body === undefined) {
      report('missing_key', at, `${where} needs a "body" (the JSON to post)`, 'add e.g. body: \'{"customer": {{ profile.id | json }}}\'');
    }
  }
}

/**
 * The `email:`, `sms:` and `webhook:` sections: the same message for the channels a send may fall
 * back to (`channels: [sms, email]`). Each holds that channel's keys, checked like the top level.
 */
function channelSections(t: Record<string, unknown>, own: Channel | undefined, report: Report): NonNullable<TemplatePlan['alternatives']> {
  const alternatives: NonNullable<TemplatePlan['alternatives']> = {};
  for (const section of CHANNELS) {
    const raw = t[section];
    if (raw === undefined) continue;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue; // the schema reported it
    if (section === own) {
      report('duplicate_channel', [section], `"${section}" is this template's own channel: its parts go at the top level`, `move the keys of "${section}:" up one level, or pick another channel: in "channel:"`, 'key');
      continue;
    }
    const parts: TemplateParts = {};
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof value !== 'string' || !(CHANNEL_KEYS[section] as readonly string[]).includes(key)) continue; // the schema reported it
      if (checkLiquid(value, [section, key], report)) parts[key as TextKey] = value;
    }
    checkRequiredParts(section, raw as Record<string, unknown>, [section], section, report, t.survey !== undefined);
    alternatives[section] = parts;
  }
  return alternatives;
}
