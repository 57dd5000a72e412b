/**
 * Runs journey tests on one time-skipping server, concurrently, with the engine of `unbroken
 * simulate`, and checks what happened against each test's expectations.
 */
import type { DeliveryPolicy } from '../../activities/types';
import { formatDuration } from '../../compiler/durations';
import { stepBranches, type JourneyPlan, type Step, type TimeWindow } from '../../compiler/plan';
import type { TimelineEntry } from '../../workflows/definitions';
import { createTimeSkippingEnv } from '../../worker/test-server';
import { formatReport, simulate, type SimulationReport } from '../simulate';
import { formatAllReport, simulateAll, type AllSimulationReport } from '../simulate-all';
import { SharedClock } from './clock';
import type { JourneyTest } from './parse';

/** Tests simulated at once; each has its own worker, so this bounds memory and CPU on small CI machines. */
export const TEST_CONCURRENCY = 6;

export interface TestFailure {
  message: string;
  line: number;
}

export interface TestResult {
  test: JourneyTest;
  ok: boolean;
  failures: TestFailure[];
  /** One journey's report, or every journey's for a test without `journey`. */
  report?: SimulationReport | AllSimulationReport;
}

export interface RunOptions {
  defaultTimezone: string;
  delivery?: DeliveryPolicy;
  quietHours?: TimeWindow;
  concurrency?: number;
}

/** Simulates every test (sharing one server) and checks its expectations; results keep the tests' order. */
export async function runJourneyTests(tests: readonly JourneyTest[], plans: ReadonlyMap<string, JourneyPlan>, opts: RunOptions): Promise<TestResult[]> {
  const env = await createTimeSkippingEnv();
  try {
    const clock = new SharedClock(env);
    const results: TestResult[] = new Array<TestResult>(tests.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tests.length) {
        const index = next++;
        const test = tests[index];
        try {
          const run = { profile: test.profile, events: test.events, startMs: test.startMs, defaultTimezone: opts.defaultTimezone, delivery: opts.delivery, quietHours: opts.quietHours, env, clock };
          const every = [...plans.keys()].sort().map((id) => plans.get(id)!);
          const report = await clock.run<Report>(() => (test.journey === undefined ? simulateAll({ ...run, plans: every }) : simulate({ ...run, plan: plans.get(test.journey)! })));
          const failures = check(test, report);
          results[index] = { test, ok: failures.length === 0, failures, report };
        } catch (err) {
          results[index] = { test, ok: false, failures: [{ message: `the simulation failed: ${(err as Error).message}`, line: test.line }] };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? TEST_CONCURRENCY, tests.length) }, worker));
    return results;
  } finally {
    await env.teardown();
  }
}

type Report = SimulationReport | AllSimulationReport;
/** A timeline entry with the journey it belongs to (a one-journey report's entries carry none). */
type Entry = TimelineEntry & { journey?: string };

const sends = (r: Report): Entry[] => r.timeline.filter((t) => t.kind === 'sent');

/** Whether an entry is of the journey an expectation names; an expectation naming none matches every journey. */
const ofJourney = (t: Entry, journey: string | undefined): boolean => journey === undefined || t.journey === undefined || t.journey === journey;

/**
 * `+1h` after the test's start (to the minute: activities take real time on the test server, so
 * a send lands a few hundred milliseconds after its moment), or the ISO time before the start.
 */
function relative(ms: number, startMs: number): string {
  const offset = ms - startMs;
  if (offset < 0) return new Date(ms).toISOString();
  const rounded = offset < 60_000 ? Math.round(offset / 1000) * 1000 : Math.round(offset / 60_000) * 60_000;
  return `+${rounded === 0 ? '0m' : formatDuration(rounded)}`;
}

function describeSends(r: Report, startMs: number): string {
  const all = sends(r);
  return all.length === 0 ? 'nothing was sent' : `sent: ${all.map((s) => `${s.journey ? `${s.journey}/` : ''}${String(s.template)} at ${relative(Date.parse(s.at), startMs)}`).join(', ')}`;
}

/** The step ids a run passed, in order, each once. */
function passedSteps(r: Report): string[] {
  const seen: string[] = [];
  for (const t of r.timeline) if (t.step !== 'entry' && !seen.includes(t.step)) seen.push(t.step);
  return seen;
}

/** What went wrong, each with the line of the expectation it broke; empty when the test passed. */
export function check(test: JourneyTest, r: Report): TestFailure[] {
  const failures: TestFailure[] = [];
  const x = test.expect;
  const fail = (line: number, message: string): number => failures.push({ message, line });
  // The parser allows outcome and path only in one-journey tests.
  if (x.outcome && 'outcome' in r && r.outcome !== x.outcome.value) {
    fail(x.outcome.line, `outcome: expected ${x.outcome.value}, got ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`);
  }

  const actual = sends(r);
  let from = 0;
  let previous: string | undefined;
  for (const { value: want, line } of x.sends) {
    const fits = (s: Entry, timed: boolean): boolean =>
      s.template === want.template &&
      ofJourney(s, want.journey) &&
      (!timed || want.atMs === undefined || Math.abs(Date.parse(s.at) - want.atMs) <= test.toleranceMs) &&
      (want.subjectContains === undefined || String(s.subject ?? s.body ?? '').includes(want.subjectContains));
    const found = actual.findIndex((s, i) => i >= from && fits(s, true));
    const label = `${want.journey ? `${want.journey}/` : ''}${want.template}${want.atMs === undefined ? '' : ` at ${relative(want.atMs, test.startMs)} (±${formatDuration(test.toleranceMs)})`}${want.subjectContains === undefined ? '' : ` with a subject containing "${want.subjectContains}"`}`;
    if (found >= 0) {
      from = found + 1;
      previous = want.template;
      continue;
    }
    const near = actual.slice(from).find((s) => fits(s, false)) ?? actual.slice(from).find((s) => s.template === want.template);
    const after = previous ? ` after ${previous}` : '';
    if (near) {
      const got = [`at ${relative(Date.parse(near.at), test.startMs)}`, want.subjectContains === undefined ? '' : `with subject "${String(near.subject ?? '')}"`].filter(Boolean).join(' ');
      fail(line, `sends: expected ${label}${after}; it was sent ${got}`);
    } else {
      const earlier = actual.slice(0, from).some((s) => s.template === want.template);
      fail(line, `sends: expected ${label}${after}; ${earlier ? 'it was sent only before that' : 'it was not sent'} (${describeSends(r, test.startMs)})`);
    }
  }
  for (const { value: want, line } of x.notSent) {
    const sent = actual.find((s) => s.template === want.template && ofJourney(s, want.journey));
    if (sent) fail(line, `not_sent: ${want.template} was sent at ${relative(Date.parse(sent.at), test.startMs)} (${sent.journey ? `journey ${sent.journey}, ` : ''}step ${sent.step})`);
  }
  for (const { value: want, line } of x.skipped) {
    const atStep = (r.timeline as Entry[]).filter((t) => t.step === want.step && ofJourney(t, want.journey));
    if (atStep.some((t) => t.kind === 'skipped' && (want.reason === undefined || t.reason === want.reason))) continue;
    const there = atStep.map((t) => `${t.kind}${t.reason ? ` (${String(t.reason)})` : ''}`);
    fail(line, `skipped: expected step ${want.step} to be skipped${want.reason ? ` because ${want.reason}` : ''}; ${there.length ? `it was ${there.join(', ')}` : 'the run never reached it'}`);
  }
  if (x.path) {
    const passed = passedSteps(r);
    let at = 0;
    for (const id of x.path.value) {
      const found = passed.indexOf(id, at);
      if (found < 0) {
        fail(x.path.line, `path: expected the run to pass ${id}${at > 0 ? ` after ${passed[at - 1]}` : ''}; it passed ${passed.join(' → ') || 'no step'}`);
        break;
      }
      at = found + 1;
    }
  }
  if (x.profile) {
    for (const [key, want] of Object.entries(x.profile.value)) {
      const got = (r.profile as Record<string, unknown>)[key];
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(x.profile.line, `profile.${key}: expected ${JSON.stringify(want)}, got ${got === undefined ? 'nothing (not set)' : JSON.stringify(got)}`);
    }
  }
  return failures;
}

/** Coverage of one journey: its steps and branches, and those no test passed through. */
export interface JourneyCoverage {
  steps: number;
  covered: number;
  uncovered: string[];
}

/** Each step id, and each branch as `<step>:then`, `<step>:on_timeout`, `<step>:<variant>` or `<step>:holdout`. */
function coverageItems(steps: readonly Step[]): string[] {
  return steps.flatMap((s) => {
    const branches =
      s.kind === 'if'
        ? ['then', 'else']
        : s.kind === 'wait_for'
          ? ['on_event', 'on_timeout']
          : s.kind === 'split'
            ? [...s.variants.map((v) => v.name), ...(s.holdout > 0 ? ['holdout'] : [])]
            : [];
    return [s.id, ...branches.map((b) => `${s.id}:${b}`), ...stepBranches(s).flatMap((b) => coverageItems(b))];
  });
}

/** Which steps and branches of each journey the runs passed through. */
export function coverage(journeys: readonly string[], plans: ReadonlyMap<string, JourneyPlan>, results: readonly TestResult[]): Record<string, JourneyCoverage> {
  const out: Record<string, JourneyCoverage> = {};
  for (const journey of journeys) {
    const items = coverageItems(plans.get(journey)!.steps);
    const seen = new Set<string>();
    for (const { test, report } of results) {
      if (!report || (test.journey !== undefined && test.journey !== journey)) continue;
      // A test of every journey covers the steps each of its runs passed.
      for (const t of report.timeline as Entry[]) {
        if (t.journey !== undefined && t.journey !== journey) continue;
        seen.add(t.step);
        if (t.kind === 'branched') seen.add(`${t.step}:${String(t.branch ?? t.variant)}`);
      }
    }
    const uncovered = items.filter((i) => !seen.has(i));
    out[journey] = { steps: items.length, covered: items.length - uncovered.length, uncovered };
  }
  return out;
}

/** The run in a test runner's style: PASS/FAIL per test, each failure at its file:line with the timeline. */
export function formatResults(results: readonly TestResult[], cov: Record<string, JourneyCoverage> | undefined, seconds: number): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.test.file}:${r.test.line}  ${r.test.name}`);
    if (r.ok) continue;
    for (const f of r.failures) lines.push(`  ✕ ${r.test.file}:${f.line}  ${f.message}`);
    if (r.report) {
      lines.push('    what happened:');
      const text = 'runs' in r.report ? formatAllReport(r.report) : formatReport(r.report);
      for (const l of text.split('\n')) lines.push(`    ${l}`);
    }
  }
  if (cov) {
    lines.push('', 'Coverage (steps and branches some test passed through):');
    for (const [journey, c] of Object.entries(cov)) {
      const gaps = c.covered === 0 ? '  no test runs it' : c.uncovered.length ? `  uncovered: ${c.uncovered.join(', ')}` : '';
      lines.push(`  ${journey.padEnd(24)} ${c.covered}/${c.steps}${gaps}`);
    }
  }
  const passed = results.filter((r) => r.ok).length;
  lines.push('', `${passed} passed, ${results.length - passed} failed (${seconds.toFixed(1)} s)`);
  return lines.join('\n');
}
