/**
 * Issue 10's scale, broadcasts: how fast `unbroken trigger`'s workflow (workflows/sweep.ts with
 * a journey named) enters K customers into real journey runs — the sweep activity pages the
 * audience and enters each through the router's own path (tryEnrol + workflow start), at the
 * journey's `rate:` of 1,000 a second — against a hand-written client starting K minimal
 * workflows (record the entry, sleep seven days) on the same server, 32 at once. Both count a
 * customer once the worker has recorded the entry; rounds alternate, each with customers of its
 * own. The live system runs as `unbroken start` does (worker, router, sweep activities in one
 * process); the hand-written workflows run in a worker child.
 */
import path from 'node:path';
import { builtinActivityPolicies, activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import type { RunningSystem } from '../../cli/start';
import type { audienceSweepWorkflow } from '../../workflows/sweep';
import { SWEEP_WORKFLOW } from '../../workflows/sweep-definitions';
import type { BaselineInput } from '../baseline/workflows';
import type { BenchContext } from '../lib/context';
import { broadcastFiles, writeBenchDefinitions } from '../lib/definitions';
import { pool, progress, round } from '../lib/report';
import { seedCustomers } from '../lib/sweep-seed';
import { startLiveSystem } from '../lib/system';
import { startChildWorker, type ChildWorker } from '../lib/workers';
import { settled } from './waiting';

const JOURNEY = 'bench-broadcast';
const BASELINE_JOURNEY = 'bench-broadcast-baseline';
/** Workflow starts the hand-written client has in flight (as benchmark 4's). */
const CLIENT_CONCURRENCY = 32;
const ROUNDS = 2;

export async function broadcastBenchmark(ctx: BenchContext): Promise<void> {
  const { runId, client } = ctx;
  const perRound = Math.ceil(ctx.sizes.broadcastCustomers / ROUNDS);
  const target = await ctx.store();
  const queues = { engine: `bench-broadcast-${runId}`, baseline: `bench-broadcast-baseline-${runId}` };
  const definitionsDir = writeBenchDefinitions(path.join(ctx.tmp, 'broadcast-definitions'), broadcastFiles);
  const templates = Object.fromEntries([...compileDefinitions(definitionsDir, activityCatalog).templates].filter(([id]) => id.startsWith('bench-')));
  let system: RunningSystem | undefined;
  let baselineWorker: ChildWorker | undefined;
  try {
    progress(`broadcast: starting the live system and the hand-written worker (${target.kind} store)`);
    system = await startLiveSystem({ ...ctx, definitionsDir }, target.url, queues.engine);
    baselineWorker = await startChildWorker({
      address: ctx.temporal.address,
      namespace: ctx.temporal.namespace,
      taskQueue: queues.baseline,
      databaseUrl: target.url,
      smtpUrl: ctx.smtp.url,
      bundlePath: ctx.bundles.baseline,
      identity: 'bench-broadcast-baseline-worker',
    });
    const store = system.store;
    const seconds = { engine: 0, baseline: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      // This round's audience: customers nobody has entered yet.
      await seedCustomers(target.url, `bc-${runId}-r${r}-`, perRound, { bench_broadcast: true }, new Date());
      const t0 = performance.now();
      await client.workflow.start<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, { workflowId: `bench-broadcast-${runId}-r${r}`, taskQueue: queues.engine, args: [{ journeyId: JOURNEY }] });
      await settled(store, JOURNEY, perRound * (r + 1), 120_000);
      seconds.engine += (performance.now() - t0) / 1000 - 1; // minus settled's pause
      progress(`broadcast: round ${r + 1}/${ROUNDS}, ${perRound} customers entered by the broadcast in ${round((performance.now() - t0) / 1000 - 1)} s`);

      const ids = Array.from({ length: perRound }, (_, i) => `bcb-${runId}-r${r}-${i}`);
      const b0 = performance.now();
      await pool(ids, CLIENT_CONCURRENCY, async (id) => {
        const input: BaselineInput = {
          customerId: id,
          journeyId: BASELINE_JOURNEY,
          trigger: { event: 'bench_broadcast', properties: {}, timestamp: new Date().toISOString() },
          templates,
          policies: builtinActivityPolicies,
        };
        await client.workflow.start('baselineWait', { workflowId: `baseline:broadcast:${id}`, taskQueue: queues.baseline, args: [input] });
      });
      await settled(store, BASELINE_JOURNEY, perRound * (r + 1), 120_000);
      seconds.baseline += (performance.now() - b0) / 1000 - 1;
      progress(`broadcast: round ${r + 1}/${ROUNDS}, ${perRound} hand-written workflows started and entered in ${round((performance.now() - b0) / 1000 - 1)} s`);
    }
    const customers = perRound * ROUNDS;
    const rate = { engine: customers / seconds.engine, baseline: customers / seconds.baseline };
    ctx.results.broadcast = { store: target.kind, customers, rounds: ROUNDS, seconds, perSecond: rate, clientConcurrency: CLIENT_CONCURRENCY };
    ctx.rows.push({
      benchmark: `9 broadcast (${customers.toLocaleString('en-US')} customers)`,
      metric: 'runs started per s (entry recorded) vs raw workflow starts',
      unbroken: rate.engine,
      baseline: rate.baseline,
      ratio: rate.engine / rate.baseline,
      note: `unbroken trigger's workflow at rate: 1000 through the router; baseline: client, ${CLIENT_CONCURRENCY} starts in flight; ${target.kind}; target ≥ 0.9×`,
    });
  } finally {
    await baselineWorker?.stop();
    await system?.stop();
    await target.drop();
  }
}
