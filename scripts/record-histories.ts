/**
 * Records the Temporal histories of the example scenarios into test/workflows/histories/, for the
 * replay test. Run it (`npm run record-histories`) only when a workflow change is meant to be
 * compatible and the recorded runs should describe the new normal; never to silence a replay
 * failure caused by an unpatched change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { parseEvents, parseProfile, simulate } from '../cli/simulate';
import { compileDefinitions } from '../compiler/index';
import { timeSkippingEnv } from '../test/support/temporal';

const root = path.resolve(__dirname, '..');
const examples = path.join(root, 'definitions', 'examples');
const out = path.join(root, 'test', 'workflows', 'histories');
const start = Date.parse('2026-11-24T10:00:00Z');

async function main(): Promise<void> {
  const compiled = compileDefinitions(path.join(root, 'definitions'));
  if (compiled.errors.length) throw new Error('definitions are invalid; run `npx unbroken validate`');
  const env = await timeSkippingEnv();
  fs.mkdirSync(out, { recursive: true });
  try {
    const profile = parseProfile(JSON.parse(fs.readFileSync(path.join(examples, 'ann.json'), 'utf8')), 'ann.json');
    for (const file of fs.readdirSync(examples).filter((f) => f.endsWith('.events.jsonl')).sort()) {
      const scenario = file.replace(/\.events\.jsonl$/, '');
      const plan = compiled.plans.get(scenario.split('.')[0]);
      if (!plan) continue;
      const events = parseEvents(fs.readFileSync(path.join(examples, file), 'utf8'), file, start);
      await simulate({
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
          process.stderr.write(`recorded ${scenario}\n`);
        },
      });
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
