/**
 * Benchmark 7, journey tests: `unbroken test`'s runner (runJourneyTests: one shared time-skipping
 * server, tests run concurrently) on N tests made from the examples' tests in definitions/tests/,
 * repeated with distinct customer ids — wall time and tests/s — against the same tests simulated
 * one at a time, each with a fresh time-skipping server of its own, as `unbroken simulate` runs
 * one. The baseline starts a JVM per test, so it runs on fewer tests and its time is scaled to N.
 * Also, for information, the same N tests on one shared server one at a time. The runner has
 * bundled the workflow code before (memoised per process), so no variant pays for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { allSteps, type JourneyPlan } from '../../compiler/plan';
import { findTestFiles, parseTestFile, type JourneyTest } from '../../cli/journey-tests/parse';
import { check, runJourneyTests, TEST_CONCURRENCY } from '../../cli/journey-tests/run';
import { simulate } from '../../cli/simulate';
import { loadConfig } from '../../worker/config';
import { splitBucket, variantForBucket } from '../../workflows/pure/split';
import type { BenchContext } from '../lib/context';
import { progress, round } from '../lib/report';

const DEFINITIONS = path.resolve(__dirname, '..', '..', 'definitions');

/** The arm of every split of the journey a customer lands in (splits assign by customer id). */
function arms(plan: JourneyPlan, customerId: string): string {
  return allSteps(plan.steps)
    .flatMap((step) => (step.kind === 'split' ? [variantForBucket(splitBucket(plan.journey, step.id, customerId), step.holdout, step.variants)?.name ?? 'holdout'] : []))
    .join(',');
}

/** A customer id of its own for copy `i`, in the same split arms as the original, so the copy's expectations hold. */
function copyId(plan: JourneyPlan, id: string, i: number): string {
  const want = arms(plan, id);
  for (let k = 0; ; k++) {
    const candidate = `${id}-bench-${i}-${k}`;
    if (arms(plan, candidate) === want) return candidate;
  }
}

/** The examples' single-journey tests, repeated until there are `n`, each copy with its own customer id. */
function exampleTests(n: number): { tests: JourneyTest[]; plans: ReadonlyMap<string, JourneyPlan> } {
  const compiled = compileDefinitions(DEFINITIONS, activityCatalog);
  if (compiled.errors.length) throw new Error(`definitions/ does not compile: ${compiled.errors[0].message}`);
  const examples: JourneyTest[] = [];
  for (const file of findTestFiles(DEFINITIONS)) {
    const parsed = parseTestFile(file, fs.readFileSync(file, 'utf8'), compiled);
    if (parsed.errors.length) throw new Error(`${file}: ${parsed.errors[0].message}`);
    examples.push(...parsed.tests.filter((t) => t.journey !== undefined));
  }
  if (examples.length === 0) throw new Error(`no single-journey tests in ${DEFINITIONS}/tests`);
  const tests = Array.from({ length: n }, (_, i) => {
    const t = examples[i % examples.length];
    return { ...t, name: `${t.name} #${i}`, profile: { ...t.profile, id: copyId(compiled.plans.get(t.journey!)!, t.profile.id, i) } };
  });
  return { tests, plans: compiled.plans };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export async function journeyTestsBenchmark(ctx: BenchContext): Promise<void> {
  const n = ctx.sizes.journeyTests;
  const m = Math.min(ctx.sizes.journeyTestsBaseline, n);
  const { tests, plans } = exampleTests(n);
  const defaultTimezone = loadConfig().defaultTimezone;

  progress(`tests: ${n} journey tests on one shared time-skipping server (unbroken test)`);
  const shared = await timed(() => runJourneyTests(tests, plans, { defaultTimezone }));
  const failed = shared.value.filter((r) => !r.ok);
  if (failed.length) throw new Error(`${failed.length} of ${n} tests failed, e.g. ${failed[0].test.name}: ${failed[0].failures[0]?.message}`);

  progress(`tests: the same ${n} on one shared server, one at a time`);
  const serial = await timed(() => runJourneyTests(tests, plans, { defaultTimezone, concurrency: 1 }));
  if (serial.value.some((r) => !r.ok)) throw new Error('a test failed when run one at a time');

  progress(`tests: baseline, ${m} of them one at a time, each with its own time-skipping server (unbroken simulate)`);
  const alone = await timed(async () => {
    for (const t of tests.slice(0, m)) {
      const report = await simulate({ plan: plans.get(t.journey!)!, profile: t.profile, events: t.events, startMs: t.startMs, defaultTimezone });
      const failures = check(t, report);
      if (failures.length) throw new Error(`baseline: ${t.name} failed: ${failures[0].message}`);
    }
  });

  const unbrokenS = shared.ms / 1000;
  const baselineS = (alone.ms / 1000) * (n / m);
  progress(`tests: ${n} tests in ${round(unbrokenS)} s shared (${round(n / unbrokenS, 2)}/s); alone ${round(alone.ms / 1000 / m, 2)} s per test`);
  ctx.results.tests = {
    tests: n,
    examples: new Set(tests.map((t) => t.name.replace(/ #\d+$/, ''))).size,
    sharedMs: shared.ms,
    serialMs: serial.ms,
    baselineTests: m,
    baselineMs: alone.ms,
    // The box is shared: the load says how much of the two cores the run had.
    loadAverage: os.loadavg(),
  };
  const B = `7 journey tests (${n} tests)`;
  ctx.rows.push(
    { benchmark: B, metric: `wall time for ${n} tests (s)`, unbroken: unbrokenS, baseline: baselineS, ratio: unbrokenS / baselineS, note: `baseline: one at a time, a server each; ${m} run, scaled to ${n}` },
    { benchmark: B, metric: `wall time, ${TEST_CONCURRENCY} at a time vs one at a time, one server (s)`, unbroken: unbrokenS, baseline: serial.ms / 1000, ratio: shared.ms / serial.ms, note: 'what running side by side gains' },
    { benchmark: B, metric: 'tests per second', unbroken: n / unbrokenS, baseline: m / (alone.ms / 1000), ratio: (n / unbrokenS) / (m / (alone.ms / 1000)), note: 'higher is better' },
  );
}
