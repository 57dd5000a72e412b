/**
 * Records one history of the audience sweep workflow (workflows/sweep.ts) for its replay test,
 * into test/workflows/sweep-histories/<label>.json (default label: today's date): two journeys,
 * the first gone through in two activity calls, the second stopped because it was paused.
 * Activities are stand-ins; only the workflow's commands matter to a replay. Record a new one
 * when a change to the workflow adds a path the older ones do not reach (behind `patched()`);
 * never to silence a replay failure.
 *
 *   npx tsx scripts/record-sweep-history.ts [label]
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { AudienceSweepActivities, EnrolAudienceInput } from '../activities/audience-sweep';
import { journeyBundle } from '../worker/worker';
import type { audienceSweepWorkflow } from '../workflows/sweep';
import { SWEEP_WORKFLOW } from '../workflows/sweep-definitions';
import { timeSkippingEnv } from '../test/support/temporal';

const out = path.resolve(__dirname, '..', 'test', 'workflows', 'sweep-histories');

const activities: AudienceSweepActivities = {
  audienceTargets: async () => [
    { journeyId: 'win-back', version: 'v1' },
    { journeyId: 'announcement', version: 'v2' },
  ],
  enrolAudience: async ({ journeyId, after }: EnrolAudienceInput) => {
    if (journeyId === 'announcement') return { matched: 0, entered: 0, stopped: 'paused' };
    return after === '' ? { after: 'c-2', matched: 2, entered: 2 } : { matched: 1, entered: 0 };
  },
};

async function main(): Promise<void> {
  const label = process.argv[2] ?? new Date().toISOString().slice(0, 10);
  if (!/^[\w.-]+$/.test(label)) throw new Error(`label "${label}" must be a plain file name, e.g. 2026-12-03`);
  const file = path.join(out, `${label}.json`);
  if (fs.existsSync(file)) throw new Error(`${file} exists; choose another label`);
  const env = await timeSkippingEnv();
  try {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'record-sweep', workflowBundle: await journeyBundle(), activities });
    const handle = await worker.runUntil(async () => {
      const started = await env.client.workflow.start<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, {
        taskQueue: 'record-sweep',
        workflowId: 'audience-sweep-recorded',
        args: [{ nowMs: Date.parse('2026-12-03T12:00:00Z') }],
      });
      process.stderr.write(`${JSON.stringify(await started.result())}\n`);
      return started;
    });
    const { History } = temporal.api.history.v1;
    const json = History.toObject(History.fromObject(await handle.fetchHistory()), { longs: String, bytes: String });
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(json, null, 1)}\n`);
    process.stderr.write(`recorded ${path.relative(process.cwd(), file)}\n`);
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
