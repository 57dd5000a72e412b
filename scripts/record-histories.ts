/**
 * Records the Temporal histories of the example scenarios (definitions/examples) and of the engine
 * fixture scenarios (test/workflows/scenarios) for the replay test, into a new folder
 * test/workflows/histories/<label>/ (default label: today's date). Earlier folders are kept: each
 * set stands for runs started by the workflow code of its day, which must keep replaying for as
 * long as such runs may still be in flight. Record a new set when a workflow change adds a path
 * the older sets do not reach (a new patch); never to silence a replay failure caused by an
 * unpatched change.
 *
 *   npm run record-histories -- [label]
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseEvents, parseProfile, simulate } from '../cli/simulate';
import { activityCatalog } from '../activities/index';
import { compileDefinitions } from '../compiler/index';
import { timeSkippingEnv } from '../test/support/temporal';

const root = path.resolve(__dirname, '..');
/** Journeys and the scenarios run against them; history files are named after the scenario. */
const sources = [
  { definitions: path.join(root, 'definitions'), scenarios: path.join(root, 'definitions', 'examples'), profile: 'ann.json', prefix: '' },
  { definitions: path.join(root, 'test', 'fixtures', 'engine'), scenarios: path.join(root, 'test', 'workflows', 'scenarios'), profile: 'profile.json', prefix: 'engine.' },
];
const histories = path.join(root, 'test', 'workflows', 'histories');
const start = Date.parse('2026-11-24T10:00:00Z');

function outputFolder(label: string): string {
  if (!/^[\w.-]+$/.test(label)) throw new Error(`label "${label}" must be a plain folder name, e.g. 2026-12-02`);
  const out = path.join(histories, label);
  // Overwriting a set would drop the runs it stands for from the replay test.
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new Error(`${path.relative(root, out)} already holds histories; choose another label (npm run record-histories -- <label>)`);
  }
  return out;
}

async function main(): Promise<void> {
  const out = outputFolder(process.argv[2] ?? new Date().toISOString().slice(0, 10));
  const env = await timeSkippingEnv();
  fs.mkdirSync(out, { recursive: true });
  try {
    for (const source of sources) await recordSource(source, env, out);
  } finally {
    await env.teardown();
  }
}

async function recordSource(source: (typeof sources)[number], env: TestWorkflowEnvironment, out: string): Promise<void> {
  const compiled = compileDefinitions(source.definitions, { ...activityCatalog, cwd: root });
  const profile = parseProfile(JSON.parse(fs.readFileSync(path.join(source.scenarios, source.profile), 'utf8')), source.profile);
  for (const file of fs.readdirSync(source.scenarios).filter((f) => f.endsWith('.events.jsonl')).sort()) {
    const scenario = `${source.prefix}${file.replace(/\.events\.jsonl$/, '')}`;
    const plan = compiled.plans.get(file.split('.')[0]);
    // Other journeys of the folder may not compile here (the webhook fixture needs a port).
    if (!plan) {
      const errors = compiled.errors.map((e) => `\n  ${e.file}:${e.line}:${e.column} ${e.message}`).join('');
      throw new Error(`${file}: journey "${file.split('.')[0]}" did not compile from ${path.relative(root, source.definitions)}${errors}`);
    }
    const events = parseEvents(fs.readFileSync(path.join(source.scenarios, file), 'utf8'), file, start);
    const result = await simulate({
      plan,
      profile,
      events,
      startMs: start,
      defaultTimezone: 'UTC',
      env,
      onFinished: async (handle) => {
        // Stored through protobuf's own object form (int64 as text, bytes as base64), which
        // History.fromObject reads back exactly; see test/workflows/replay.test.ts.
        const { History } = temporal.api.history.v1;
        const json = History.toObject(History.fromObject(await handle.fetchHistory()), { longs: String, bytes: String });
        fs.writeFileSync(path.join(out, `${scenario}.json`), `${JSON.stringify(json, null, 1)}\n`);
        process.stderr.write(`recorded ${path.relative(root, out)}/${scenario}\n`);
      },
    });
    // What the run did, so whoever records can see each scenario took the path it was written for.
    const path_ = result.timeline.map((entry) => `${entry.step}:${entry.kind}`).join(' ');
    process.stderr.write(`  ${result.outcome}${result.reason ? ` (${result.reason})` : ''}: ${path_}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
