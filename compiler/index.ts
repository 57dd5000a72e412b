/**
 * The journey compiler: reads a definitions folder (journeys/, templates/, audiences/), checks every file
 * and returns immutable plans for the valid journeys plus every problem found, never just the first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AudiencePlan, JourneyPlan, TemplatePlan } from './plan';
import { compileAudiences, type AudienceSource } from './audience';
import { formatError, type CompileError } from './errors';
import { compileJourneySource, type ActivityCatalog, type JourneyEnvironment } from './journey';
import { MAX_FILE_BYTES } from './source';
import type { SurveyRegistry } from './survey';
import { compileTemplateSource, fileStem } from './template';

export type { CompileError } from './errors';
export { formatError, formatWarning } from './errors';
export { compileJourneySource, type ActivityCatalog, type ActivitySignature, type JourneyEnvironment } from './journey';
export { compileTemplateSource, type SourceNames } from './template';
export { audienceJsonSchema, journeyJsonSchema, templateJsonSchema } from './schema';
export { compileAudiences, type AudienceSource } from './audience';

/** Everything a compile produced: plans of valid journeys, valid templates, and all errors. */
export interface CompileResult {
  plans: Map<string, JourneyPlan>;
  templates: Map<string, TemplatePlan>;
  /** Valid audiences (definitions/audiences/), by id. */
  audiences: Map<string, AudiencePlan>;
  errors: CompileError[];
  /** Problems that do not stop a file from compiling (an sms longer than one segment, a survey asked too often). */
  warnings: CompileError[];
}

/** Options for `compileDefinitions`: the activity catalog to check `do:` steps against, and where errors are relative to. */
export interface CompileOptions extends ActivityCatalog {
  /** Error file names are relative to this folder; defaults to `process.cwd()`. */
  cwd?: string;
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/** Compiles every journey and template under `dir`, collecting all errors. */
export function compileDefinitions(dir: string, opts: CompileOptions): CompileResult {
  const cwd = opts.cwd ?? process.cwd();
  const root = path.resolve(dir);
  const errors: CompileError[] = [];
  const warnings: CompileError[] = [];
  const fail = (abs: string, code: string, message: string, hint: string) =>
    errors.push({ code, file: toPosix(path.relative(cwd, abs)) || '.', line: 1, column: 1, path: '', message, hint });

  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    fail(root, 'definitions_not_found', `definitions folder not found`, 'pass the folder that holds journeys/ and templates/');
    return { plans: new Map(), templates: new Map(), audiences: new Map(), errors, warnings: [] };
  }

  /** Reads one kind of file; `compile` gets the text and both file names. */
  const readAll = (sub: 'journeys' | 'templates' | 'audiences', compile: (text: string, file: string, errorFile: string) => void) => {
    const folder = path.join(root, sub);
    if (!fs.existsSync(folder)) return;
    const seen = new Map<string, string>();
    for (const name of fs.readdirSync(folder).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      const abs = path.join(folder, name);
      const stem = fileStem(name);
      const other = seen.get(stem);
      if (other !== undefined) {
        fail(abs, 'duplicate_definition', `${sub.slice(0, -1)} "${stem}" is defined twice (also in ${other})`, 'keep one file per id; delete or rename the other');
        continue;
      }
      seen.set(stem, name);
      const size = fs.statSync(abs).size;
      if (size > MAX_FILE_BYTES) {
        fail(abs, 'file_too_large', `file is ${Math.ceil(size / 1024)} KiB, more than the ${MAX_FILE_BYTES / 1024} KiB limit`, 'split the journey or move long message text into templates');
        continue;
      }
      compile(fs.readFileSync(abs, 'utf8'), `${sub}/${name}`, toPosix(path.relative(cwd, abs)));
    }
  };

  const templates = new Map<string, TemplatePlan>();
  const templateIndex = new Map<string, TemplatePlan | null>();
  const surveys: SurveyRegistry = new Map();
  readAll('templates', (text, file, errorFile) => {
    const result = compileTemplateSource(text, { file, errorFile }, surveys);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    templateIndex.set(fileStem(file), result.plan ?? null);
    if (result.plan) templates.set(result.plan.id, result.plan);
  });

  const audienceSources: AudienceSource[] = [];
  readAll('audiences', (text, file, errorFile) => audienceSources.push({ text, names: { file, errorFile } }));
  const compiledAudiences = compileAudiences(audienceSources);
  errors.push(...compiledAudiences.errors);

  const env: JourneyEnvironment = {
    templates: templateIndex,
    activities: opts.activities,
    builtinPolicies: opts.builtinPolicies,
    audiences: compiledAudiences.lookup,
  };
  const plans = new Map<string, JourneyPlan>();
  readAll('journeys', (text, file, errorFile) => {
    const result = compileJourneySource(text, { file, errorFile }, env);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    if (result.plan) plans.set(result.plan.journey, result.plan);
  });

  const byPosition = (a: CompileError, b: CompileError) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column);
  errors.sort(byPosition);
  warnings.sort(byPosition);
  return { plans, templates, audiences: compiledAudiences.audiences, errors, warnings };
}

/** All errors rendered one after another, for terminals and CI logs. */
export function formatErrors(errors: readonly CompileError[]): string {
  return errors.map(formatError).join('\n');
}
