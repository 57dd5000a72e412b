/**
 * Reads journey test files (`definitions/tests/**\/*.test.yaml`) into checked tests. Every
 * problem is collected as a CompileError with the file:line:column of the offending key, and
 * names of journeys, templates and steps are checked against the compiled definitions.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CompileError } from '../../compiler/errors';
import { pathToString } from '../../compiler/errors';
import { parseDuration } from '../../compiler/durations';
import { allSteps, type JourneyPlan, type Step } from '../../compiler/plan';
import { parseYaml, type YamlPath } from '../../compiler/source';
import { identifySchema, OUTCOMES, testSchema, trackSchema } from '../../compiler/test-schema';
import { didYouMean } from '../../compiler/suggest';
import type { Profile } from '../../profiles/store';
import { arrivalOf, type SimEvent } from '../simulate';

/** When a test gives no `start`: a Tuesday morning, so most send windows are open at entry. */
export const DEFAULT_TEST_START = '2026-03-03T10:00:00Z';
/** How far a send's actual time may be from an expected `at` (one minute), unless the test sets `tolerance`. */
export const DEFAULT_AT_TOLERANCE_MS = 60_000;

/** One expectation, with the line it is written on (failures point there). */
export interface Expected<T> {
  value: T;
  line: number;
}

export interface ExpectedSend {
  /** The journey that must send it; absent in a one-journey test. */
  journey?: string;
  template: string;
  atMs?: number;
  subjectContains?: string;
}

/** A parsed, checked journey test. */
export interface JourneyTest {
  file: string;
  line: number;
  name: string;
  /** The one journey simulated; absent when the test runs every journey (`simulate --all`). */
  journey?: string;
  startMs: number;
  toleranceMs: number;
  profile: Profile;
  events: SimEvent[];
  expect: {
    outcome?: Expected<(typeof OUTCOMES)[number]>;
    sends: Expected<ExpectedSend>[];
    notSent: Expected<{ journey?: string; template: string }>[];
    skipped: Expected<{ journey?: string; step: string; reason?: string }>[];
    path?: Expected<string[]>;
    profile?: Expected<Record<string, unknown>>;
  };
}

export interface Definitions {
  plans: ReadonlyMap<string, JourneyPlan>;
  templates: ReadonlyMap<string, unknown>;
}

/** The test files under `<definitions>/tests`, sorted. */
export function findTestFiles(definitions: string): string[] {
  const root = path.join(definitions, 'tests');
  if (!fs.existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.test.yaml') || entry.name.endsWith('.test.yml')) found.push(full);
    }
  };
  walk(root);
  return found.sort();
}

/** Every step id of a plan, nested branches included, in plan order. */
export function stepIds(steps: readonly Step[]): string[] {
  return allSteps(steps).map((s) => s.id);
}

/** Reads and checks one test file; `file` is shown as given. */
export function parseTestFile(file: string, text: string, defs: Definitions): { tests: JourneyTest[]; errors: CompileError[] } {
  const tests: JourneyTest[] = [];
  const errors: CompileError[] = [];
  // Multi-document files: each `---` starts another document; line numbers stay those of the file.
  const lines = text.split('\n');
  const starts = [0, ...lines.flatMap((l, i) => (/^---\s*$/.test(l) ? [i + 1] : []))];
  starts.forEach((from, d) => {
    const to = d + 1 < starts.length ? starts[d + 1] - 1 : lines.length;
    const chunk = lines.slice(from, to).join('\n');
    if (chunk.trim() === '' || chunk.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) return;
    const { file: source, problems } = parseYaml(chunk);
    const fail = (p: { line: number; column: number }, message: string, hint = '', where: YamlPath = []): void => {
      errors.push({ code: 'journey_test', file, line: p.line + from, column: p.column, path: pathToString(where), message, hint });
    };
    if (!source) {
      for (const p of problems) fail(p.position, p.message, p.hint);
      return;
    }
    const at = (where: YamlPath, key = false) => source.locate(where, key);
    const value = source.value;
    const items: [unknown, YamlPath][] = Array.isArray(value) ? value.map((v, i) => [v, [i]]) : [[value, []]];
    for (const [item, base] of items) {
      const test = parseOne(item, base, at, (where, message, hint, key) => fail(at(where, key), message, hint, where), defs, file, from);
      if (test) tests.push(test);
    }
  });
  return { tests, errors };
}

type Fail = (where: YamlPath, message: string, hint?: string, key?: boolean) => void;

function parseOne(
  item: unknown,
  base: YamlPath,
  at: (where: YamlPath, key?: boolean) => { line: number; column: number },
  fail: Fail,
  defs: Definitions,
  file: string,
  lineOffset: number,
): JourneyTest | undefined {
  const parsed = testSchema.safeParse(item);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = [...base, ...(issue.path as (string | number)[])];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) fail([...where, key], `unknown key "${key}"`, knownKeysHint(where.slice(base.length)), true);
      } else {
        const name = pathToString(issue.path as (string | number)[]) || 'test';
        const missing = valueAt(item, issue.path as (string | number)[]) === undefined;
        fail(where, missing ? `${name} is missing` : `${name}: ${issue.message}`, EXAMPLE_HINT, missing);
      }
    }
    return undefined;
  }
  const t = parsed.data;
  const line = (where: YamlPath): number => at([...base, ...where]).line + lineOffset;
  const problems = { count: 0 };
  const bad: Fail = (where, message, hint, key) => {
    problems.count++;
    fail([...base, ...where], `test "${t.test}": ${message}`, hint, key);
  };

  const journeyKnown = (id: string, where: YamlPath): JourneyPlan | undefined => {
    const found = defs.plans.get(id);
    if (!found) bad(where, `unknown journey "${id}"${didYouMean(id, defs.plans.keys())}`, `journeys are the files in journeys/: ${[...defs.plans.keys()].sort().join(', ')}`);
    return found;
  };
  const plan = t.journey === undefined ? undefined : journeyKnown(t.journey, ['journey']);
  const startMs = Date.parse(t.start ?? DEFAULT_TEST_START);
  if (Number.isNaN(startMs)) bad(['start'], `start "${t.start}" is not an ISO time`, 'write it like 2026-03-02T10:00:00Z');
  let toleranceMs = DEFAULT_AT_TOLERANCE_MS;
  if (t.tolerance !== undefined) {
    const d = parseDuration(t.tolerance);
    if (d.ok) toleranceMs = d.ms;
    else bad(['tolerance'], `tolerance: ${d.message}`, d.hint);
  }
  const toMs = (raw: string, where: YamlPath): number | undefined => {
    if (raw.startsWith('+')) {
      const d = parseDuration(raw.slice(1));
      if (d.ok) return startMs + d.ms;
      bad(where, `at "${raw}" is not a duration after the start: ${d.message}`, 'write "+0m", "+1h", "+1d12h" or an ISO time');
      return undefined;
    }
    const ms = Date.parse(raw);
    if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(raw)) {
      bad(where, `at "${raw}" is neither +<duration> nor an ISO time`, 'write "+0m", "+1h", "+1d12h" or an ISO time like 2026-03-02T11:00:00Z');
      return undefined;
    }
    return ms;
  };

  const events: SimEvent[] = [];
  t.events.forEach((raw, i) => {
    const where = ['events', i];
    const schema = 'identify' in raw ? identifySchema : trackSchema;
    const e = schema.safeParse(raw);
    if (!e.success) {
      const issue = e.error.issues[0];
      if (issue.code === 'unrecognized_keys') bad([...where, issue.keys[0]], `unknown key "${issue.keys[0]}" in an event`, 'an event is { at, event, properties } or { at, identify: { trait: value } }', true);
      else bad([...where, ...(issue.path as (string | number)[])], `events[${i}]: ${pathToString(issue.path as (string | number)[]) || 'event'}: ${issue.message}`, 'an event is { at: "+0m", event: cart_abandoned, properties: { ... } }');
      return;
    }
    const atMs = toMs(e.data.at, [...where, 'at']);
    if (atMs === undefined) return;
    const l = line(where);
    // As simulate: an event before the start is history sent back-dated, arriving at the start.
    const arrival = atMs < startMs ? { arrivalMs: startMs } : {};
    events.push(
      'identify' in e.data
        ? { atMs, type: 'identify', traits: e.data.identify, line: l, ...arrival }
        : { atMs, type: 'track', event: e.data.event, properties: e.data.properties, line: l, ...arrival },
    );
  });
  // As simulate: in order of arrival, a stable sort keeping file order for events arriving together.
  const ordered = events.map((e, i) => ({ e, i })).sort((a, b) => arrivalOf(a.e) - arrivalOf(b.e) || a.i - b.i).map(({ e }) => e);

  const templateKnown = (name: string, where: YamlPath): void => {
    if (!defs.templates.has(name)) bad(where, `unknown template "${name}"${didYouMean(name, defs.templates.keys())}`, 'templates are the files in templates/');
  };
  const stepKnown = (of: JourneyPlan | undefined, id: string, where: YamlPath): void => {
    const ids = of ? stepIds(of.steps) : [];
    if (of && !ids.includes(id)) bad(where, `journey "${of.journey}" has no step "${id}"${didYouMean(id, ids)}`, `its steps: ${ids.join(', ')}`);
  };
  /**
   * The journey an expectation is about. A one-journey test may repeat its own journey; a test
   * of every journey must name one where templates or step ids alone would be ambiguous.
   */
  const aboutJourney = (journey: string | undefined, where: YamlPath, required: boolean): JourneyPlan | undefined => {
    if (journey === undefined) {
      if (t.journey === undefined && required) bad(where, `${pathToString(where)} needs a journey: this test runs every journey`, `name it, e.g. { journey: ${[...defs.plans.keys()].sort()[0] ?? 'welcome-series'}, ... }, or give the test a journey`);
      return plan;
    }
    if (t.journey !== undefined && journey !== t.journey) {
      bad([...where, 'journey'], `journey "${journey}": this test runs only journey "${t.journey}"`, 'leave the test\'s journey out to run every journey');
      return undefined;
    }
    return journeyKnown(journey, [...where, 'journey']);
  };
  const x = t.expect;
  if (t.journey === undefined) {
    // An outcome and a path belong to one run; a test of every journey may run a journey several times or not at all.
    for (const key of ['outcome', 'path'] as const) {
      if (x[key] !== undefined) bad(['expect', key], `${key} needs the test's journey: a test without journey runs every journey`, 'check sends, not_sent, skipped and profile here, or write a test with journey: for this');
    }
  }
  const sends = (x.sends ?? []).map((s, i) => {
    aboutJourney(s.journey, ['expect', 'sends', i], true);
    templateKnown(s.template, ['expect', 'sends', i, 'template']);
    const atMs = s.at === undefined ? undefined : toMs(s.at, ['expect', 'sends', i, 'at']);
    return { value: { journey: s.journey, template: s.template, atMs, subjectContains: s.subject_contains }, line: line(['expect', 'sends', i]) };
  });
  const notSent = (x.not_sent ?? []).map((item, i) => {
    const value = typeof item === 'string' ? { template: item } : item;
    // A bare name in a test of every journey means no journey may send it.
    if (typeof item !== 'string') aboutJourney(item.journey, ['expect', 'not_sent', i], false);
    templateKnown(value.template, typeof item === 'string' ? ['expect', 'not_sent', i] : ['expect', 'not_sent', i, 'template']);
    return { value, line: line(['expect', 'not_sent', i]) };
  });
  const skipped = (x.skipped ?? []).map((s, i) => {
    stepKnown(aboutJourney(s.journey, ['expect', 'skipped', i], true), s.step, ['expect', 'skipped', i, 'step']);
    return { value: s, line: line(['expect', 'skipped', i]) };
  });
  (x.path ?? []).forEach((id, i) => stepKnown(plan, id, ['expect', 'path', i]));
  if (problems.count > 0) return undefined;
  const { id, tags, ...traits } = t.profile as Record<string, unknown> & { id: string };
  return {
    file,
    line: line([]),
    name: t.test,
    journey: t.journey,
    startMs,
    toleranceMs,
    profile: { ...traits, id, tags: Array.isArray(tags) ? (tags as string[]) : [] },
    events: ordered,
    expect: {
      outcome: x.outcome === undefined ? undefined : { value: x.outcome, line: line(['expect', 'outcome']) },
      sends,
      notSent,
      skipped,
      path: x.path === undefined ? undefined : { value: x.path, line: line(['expect', 'path']) },
      profile: x.profile === undefined ? undefined : { value: x.profile, line: line(['expect', 'profile']) },
    },
  };
}

function valueAt(value: unknown, where: readonly (string | number)[]): unknown {
  return where.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined), value);
}

const EXAMPLE_HINT = 'a test is { test, journey?, start?, tolerance?, profile: { id, ... }, events: [...], expect: { outcome, sends, not_sent, skipped, path, profile } }';

function knownKeysHint(where: YamlPath): string {
  const inner = where.filter((s) => typeof s === 'string').join('.');
  if (inner === '') return 'the keys of a test: test, journey, start, tolerance, profile, events, expect';
  if (inner === 'expect') return 'the keys of expect: outcome, sends, not_sent, skipped, path, profile';
  if (inner === 'expect.sends') return 'the keys of a send: journey, template, at, subject_contains';
  if (inner === 'expect.not_sent') return 'the keys of a template not sent: journey, template';
  if (inner === 'expect.skipped') return 'the keys of a skipped step: journey, step, reason';
  return EXAMPLE_HINT;
}
