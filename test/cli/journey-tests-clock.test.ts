/**
 * Journey tests share one time-skipping server and run side by side: the shared clock must give
 * every run the timeline it would have alone, whatever the others wait for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { findTestFiles, parseTestFile, type JourneyTest } from '../../cli/journey-tests/parse';
import { runJourneyTests, type TestResult } from '../../cli/journey-tests/run';

const definitions = path.resolve(__dirname, '..', '..', 'definitions');
const compiled = compileDefinitions(definitions, activityCatalog);

function shippedTests(): JourneyTest[] {
  return findTestFiles(definitions).flatMap((file) => parseTestFile(file, fs.readFileSync(file, 'utf8'), compiled).tests);
}

/**
 * Each run's timeline to the minute: what a customer would see. Finer than that, activities and
 * signals take real time on the test server, a little more when it is busy.
 */
const toMinute = (iso: string) => new Date(Math.round(Date.parse(iso) / 60_000) * 60_000).toISOString();
const timelines = (results: TestResult[]) =>
  results.map((r) => r.report?.timeline.map((t) => `${toMinute(t.at)} ${t.step} ${t.kind} ${String(t.template ?? t.branch ?? t.variant ?? '')}`));

test('tests run side by side on one server get the same timelines as one at a time, and all pass', async () => {
  expect(compiled.errors).toEqual([]);
  const chosen = shippedTests().filter((t) => /cart|welcome|review/.test(t.journey ?? ''));
  // Twice each, so runs with the same script overlap too.
  const tests = [...chosen, ...chosen];
  const opts = { defaultTimezone: 'UTC' };
  const together = await runJourneyTests(tests, compiled.plans, { ...opts, concurrency: 8 });
  const alone = await runJourneyTests(chosen, compiled.plans, { ...opts, concurrency: 1 });
  expect(together.filter((r) => !r.ok).map((r) => [r.test.name, r.failures])).toEqual([]);
  expect(alone.filter((r) => !r.ok).map((r) => [r.test.name, r.failures])).toEqual([]);
  const expected = timelines(alone);
  expect(timelines(together)).toEqual([...expected, ...expected]);
}, 300_000);
