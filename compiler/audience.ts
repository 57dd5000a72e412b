/**
 * Audience files (definitions/audiences/<id>.yaml): a named condition over a customer's profile,
 * consent and track events. Compiled together, because one audience may test another with
 * `in_audience`: each is resolved on first use, so references in any order work and a circle of
 * references is found and reported where it closes.
 */
import type { AudiencePlan, Condition } from './plan';
import { compileCondition, type AudienceLookup, type AudienceLookupResult } from './conditions';
import { describeValue } from './durations';
import { Reporter, type CompileError } from './errors';
import { checkShape, type Report } from './issues';
import { validateSchemas } from './schema';
import { parseYaml, type SourceFile } from './source';
import { checkIdMatchesFile, fileStem, type SourceNames } from './template';
import { deepFreeze } from './hash';

/** One audience file as read from disk. */
export interface AudienceSource {
  text: string;
  names: SourceNames;
}

type Raw = Record<string, unknown>;
const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Parsed {
  id: string;
  names: SourceNames;
  raw?: Raw;
  reporter: Reporter;
  source?: SourceFile;
  state: 'new' | 'compiling' | 'done';
  plan?: AudiencePlan;
}

/** Compiles every audience file; returns plans of the valid ones and all errors. Ids are the file names. */
export function compileAudiences(sources: readonly AudienceSource[]): { audiences: Map<string, AudiencePlan>; errors: CompileError[]; lookup: AudienceLookup } {
  const files = new Map<string, Parsed>();
  for (const { text, names } of sources) {
    const { file: source, problems } = parseYaml(text);
    const reporter = new Reporter(names.errorFile, source);
    for (const p of problems) reporter.addAt(p.code, p.position.line, p.position.column, p.message, p.hint);
    const parsed: Parsed = { id: fileStem(names.file), names, reporter, source, state: 'new' };
    files.set(parsed.id, parsed);
    if (!source) continue;
    const report: Report = (code, path, message, hint, anchor) => reporter.add(code, path, message, hint, { anchor });
    const raw = source.value;
    if (!isMap(raw)) {
      report('not_a_map', [], `an audience file must be a map with audience and where, got ${describeValue(raw)}`, 'start with "audience: <file name>", then where:');
      continue;
    }
    checkShape(validateSchemas.audience, raw, [], report);
    checkIdMatchesFile('audience', raw.audience, names, report);
    parsed.raw = raw;
  }

  const stack: string[] = [];
  const lookup: AudienceLookup = {
    known: () => [...files.keys()].sort(),
    find: (id) => resolve(id),
  };
  const resolve = (id: string): AudienceLookupResult => {
    const file = files.get(id);
    if (!file) return undefined;
    if (file.state === 'compiling') return { cycle: [...stack.slice(stack.indexOf(id)), id] };
    if (file.state === 'new') compile(file);
    return file.plan ? { condition: file.plan.where } : { failed: true };
  };
  const compile = (file: Parsed): void => {
    file.state = 'compiling';
    stack.push(file.id);
    const before = file.reporter.count;
    const report: Report = (code, path, message, hint, anchor) => file.reporter.add(code, path, message, hint, { anchor });
    const where: Condition | undefined =
      file.raw && file.raw.where !== undefined ? compileCondition(file.raw.where, ['where'], { allowEvent: false, audiences: lookup, report }) : undefined;
    stack.pop();
    file.state = 'done';
    if (where && file.reporter.count === before && file.reporter.count === 0 && file.raw) {
      const raw = file.raw;
      file.plan = deepFreeze({
        audience: file.id,
        ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
        file: file.names.file,
        where,
      });
    }
  };
  for (const file of files.values()) if (file.state === 'new') compile(file);

  const audiences = new Map<string, AudiencePlan>();
  const errors: CompileError[] = [];
  for (const file of [...files.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    errors.push(...file.reporter.errors);
    if (file.plan) audiences.set(file.id, file.plan);
  }
  return { audiences, errors, lookup };
}
