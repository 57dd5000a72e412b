/**
 * Records histories of the audience sweep workflow (workflows/sweep.ts) for its replay test, into
 * test/workflows/sweep-histories/<label>.json and <label>-broadcast.json (default label: today's
 * date). The sweep: an audience journey gone through in two activity calls, a paused one, a date
 * journey, then the leavers in two calls. The broadcast: a schedule journey's firing (its
 * occurrence, the counts it reports). Activities are stand-ins; only the workflow's commands
 * matter to a replay. Record new ones when a change to the workflow adds a path the older ones do
 * not reach (behind `patched()`); never to silence a replay failure.
 *
 *   npx tsx scripts/record-sweep-history.ts [label]
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { AudienceLeaversActivities } from '../activities/audience-leavers';
import type { AudienceSweepActivities, EnrolAudienceInput } from '../activities/audience-sweep';
import type { DateSweepActivities } from '../activities/date-sweep';
import { journeyBundle } from '../worker/worker';
import type { audienceSweepWorkflow } from '../workflows/sweep';
import { SWEEP_WORKFLOW, type SweepInput } from '../workflows/sweep-definitions';
import { timeSkippingEnv } from '../test/support/temporal';

const out = path.resolve(__dirname, '..', 'test', 'workflows', 'sweep-histories');

const activities: AudienceSweepActivities & DateSweepActivities & AudienceLeaversActivities = {
  audienceTargets: async ({ journeyId }) =>
    journeyId !== undefined
      ? [{ journeyId, version: 'v3' }]
      : [
          { journeyId: 'win-back', version: 'v1' },
          { journeyId: 'announcement', version: 'v2' },
          { journeyId: 'birthday', version: 'v1', kind: 'date' },
        ],
  enrolAudience: async ({ journeyId, after }: EnrolAudienceInput) => {
    if (journeyId === 'announcement') return { matched: 0, entered: 0, stopped: 'paused' };
    return after === '' ? { after: 'c-2', matched: 2, entered: 2 } : { matched: 1, entered: 0 };
  },
  enrolDates: async () => ({ matched: 1, entered: 1 }),
  exitLeavers: async ({ from }) => (from ? { left: 0 } : { left: 1, next: { journeyId: 'win-back', afterCustomer: 'c-7' } }),
};

/** Starts one sweep workflow with `input` and returns its history. */
async function record(env: Awaited<ReturnType<typeof timeSkippingEnv>>, workflowId: string, input: SweepInput): Promise<unknown> {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'record-sweep', workflowBundle: await journeyBundle(), activities });
  const handle = await worker.runUntil(async () => {
    const started = await env.client.workflow.start<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, { taskQueue: 'record-sweep', workflowId, args: [input] });
    process.stderr.write(`${JSON.stringify(await started.result())}\n`);
    return started;
  });
  const { History } = temporal.api.history.v1;
  return History.toObject(History.fromObject(await handle.fetchHistory()), { longs: String, bytes: String });
}

async function main(): Promise<void> {
  const label = process.argv[2] ?? new Date().toISOString().slice(0, 10);
  if (!/^[\w.-]+$/.test(label)) throw new Error(`label "${label}" must be a plain file name, e.g. 2026-12-03`);
  const files = { sweep: path.join(out, `${label}.json`), broadcast: path.join(out, `${label}-broadcast.json`) };
  for (const file of Object.values(files)) if (fs.existsSync(file)) throw new Error(`${file} exists; choose another label`);
  const env = await timeSkippingEnv();
  try {
    const nowMs = Date.parse('2026-12-03T12:00:00Z');
    const histories = {
      sweep: await record(env, 'audience-sweep-recorded', { nowMs }),
      broadcast: await record(env, 'schedule:newsletter-recorded', { journeyId: 'newsletter', scheduled: true, nowMs }),
    };
    fs.mkdirSync(out, { recursive: true });
    for (const [name, file] of Object.entries(files)) {
      fs.writeFileSync(file, `${JSON.stringify(histories[name as keyof typeof histories], null, 1)}\n`);
      process.stderr.write(`recorded ${path.relative(process.cwd(), file)}\n`);
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
