/**
 * Benchmark 4, many waiting customers: N customers enrolled through the event API (/v1/batch,
 * router → tryEnrol → workflow start) into bench-wait, which waits seven days; versus N
 * hand-written workflows started straight through the client that record the entry and sleep
 * seven days. Alternating chunks A B A B. Workers run in child processes so their resident
 * memory (process.memoryUsage().rss of that process) is theirs alone.
 */
import { builtinActivityPolicies } from '../../activities/index';
import { buildApi } from '../../api/server';
import { deploy } from '../../cli/live';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';
import { JourneyRouter } from '../../routing/router';
import { RoutingLoop } from '../../routing/loop';
import type { BaselineInput } from '../baseline/workflows';
import type { BenchContext } from '../lib/context';
import { sqliteBytes } from '../lib/infra';
import { runLoad } from '../lib/load';
import { pool, progress, round, sleepMs } from '../lib/report';
import { AUTHORIZATION, WRITE_KEY } from '../lib/system';
import { startWorkerPair, type ChildWorker } from '../lib/workers';

const MiB = 1024 * 1024;
/** Calls per /v1/batch request while enrolling. */
const ENROL_BATCH = 100;

/** Customers whose entry into `journeyId` the worker has recorded. */
export async function entered(store: LiveStore, journeyId: string): Promise<number> {
  const stats = await store.journeyStats(journeyId);
  return stats.steps.find((s) => s.stepId === 'entry' && s.kind === 'entered')?.count ?? 0;
}

/**
 * Waits until `count` customers have their entry recorded (the worker ran their first task). Gives
 * up only when no customer entered for `stallMs`: at 100,000 customers enrolment takes as long as
 * the server needs, and only a standstill means something broke.
 */
export async function settled(store: LiveStore, journeyId: string, count: number, stallMs: number): Promise<void> {
  let seen = await entered(store, journeyId);
  let lastProgress = Date.now();
  while (seen < count) {
    if (Date.now() - lastProgress > stallMs) throw new Error(`only ${seen} of ${count} ${journeyId} customers entered; none for ${stallMs / 1000} s`);
    await sleepMs(250);
    const now = await entered(store, journeyId);
    if (now > seen) lastProgress = Date.now();
    seen = now;
  }
  // The timer is started by the workflow task after the entry record; give it a moment to land.
  await sleepMs(1000);
}

export async function waitingCustomers(ctx: BenchContext): Promise<void> {
  const { sizes, runId, client } = ctx;
  const n = sizes.waitingCustomers;
  const chunks = 2;
  const perChunk = Math.ceil(n / chunks / ENROL_BATCH) * ENROL_BATCH;
  const target = await ctx.store();
  const store = await openProfileStore(target.url, ctx.tmp);
  await deploy(store, ctx.definitionsDir);
  const templates = Object.fromEntries([...compileDefinitions(ctx.definitionsDir, activityCatalog).templates].filter(([id]) => id.startsWith('bench-')));
  const queues = { engine: `bench-wait-${runId}`, baseline: `bench-wait-baseline-${runId}` };
  // The API and router without a worker: the journeys run in the child's worker only.
  const router = new JourneyRouter({ store, client, taskQueue: queues.engine, defaultTimezone: 'UTC' });
  const loop = new RoutingLoop({ store, router });
  loop.start();
  const api = await buildApi({ store, accepted: () => loop.wake(), writeKey: WRITE_KEY, ready: async () => ({ ok: true, checks: {} }) });
  const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  let workers: Partial<Record<'engine' | 'baseline', ChildWorker>> = {};
  try {
    progress(`waiting customers: starting the two workers (child processes, ${target.kind} store)`);
    workers = await startWorkerPair(ctx, target.url, queues, 'bench-wait');
    const { engine: engineWorker, baseline: baselineWorker } = workers as Record<'engine' | 'baseline', ChildWorker>;
    const rssBefore = { engine: await engineWorker.memory(), baseline: await baselineWorker.memory() };
    const temporalBytes = () => (ctx.temporal.dbFile ? sqliteBytes(ctx.temporal.dbFile) : Number.NaN);

    const acc = {
      engine: { enrolled: 0, acceptS: 0, settleS: 0, temporalBytes: 0, storeBytes: 0 },
      baseline: { enrolled: 0, acceptS: 0, settleS: 0, temporalBytes: 0, storeBytes: 0 },
    };
    for (let c = 0; c < chunks; c++) {
      for (const variant of ['engine', 'baseline'] as const) {
        progress(`waiting customers: chunk ${c + 1}/${chunks}, ${perChunk} customers, ${variant === 'engine' ? 'through the event API' : 'hand-written, started by the client'}`);
        const t0Bytes = temporalBytes();
        const s0Bytes = await target.bytes();
        const t0 = performance.now();
        if (variant === 'engine') {
          const res = await runLoad({
            url: apiUrl,
            endpoint: 'batch',
            batchSize: ENROL_BATCH,
            kind: 'enrol',
            prefix: `${runId}-wait-c${c}`,
            perCustomer: 1,
            connections: 4,
            amount: perChunk / ENROL_BATCH,
            authorization: AUTHORIZATION,
          });
          if (res.ok * ENROL_BATCH < perChunk) throw new Error(`enrolment requests failed: ${res.non2xx} non-2xx, ${res.errors} errors`);
        } else {
          const ids = Array.from({ length: perChunk }, (_, i) => `${runId}-waitb-c${c}-${i}`);
          await pool(ids, 32, async (id) => {
            const input: BaselineInput = {
              customerId: id,
              journeyId: 'bench-wait-baseline',
              trigger: { event: 'bench_wait', properties: {}, timestamp: new Date().toISOString() },
              templates,
              policies: builtinActivityPolicies,
            };
            await client.workflow.start('baselineWait', { workflowId: `baseline:wait:${id}`, taskQueue: queues.baseline, args: [input] });
          });
        }
        const accepted = performance.now();
        acc[variant].enrolled += perChunk;
        await settled(store, variant === 'engine' ? 'bench-wait' : 'bench-wait-baseline', acc[variant].enrolled, 120_000);
        const done = performance.now();
        acc[variant].acceptS += (accepted - t0) / 1000;
        acc[variant].settleS += (done - t0) / 1000 - 1; // minus the settle pause
        acc[variant].temporalBytes += temporalBytes() - t0Bytes;
        acc[variant].storeBytes += (await target.bytes()) - s0Bytes;
        // Figures so far in the log too: a 100,000 run takes hours, and one stopped early still tells something.
        const worker = await (variant === 'engine' ? engineWorker : baselineWorker).memory();
        progress(
          `waiting customers:   accepted in ${round((accepted - t0) / 1000)} s, all entered after ${round((done - t0) / 1000 - 1)} s; ` +
            `worker RSS ${round(worker.rss / MiB)} MiB (heap ${round(worker.heapUsed / MiB)} MiB), Temporal ${round(acc[variant].temporalBytes / acc[variant].enrolled)} bytes per customer so far`,
        );
      }
    }
    const rssAfter = { engine: await engineWorker.memory(), baseline: await baselineWorker.memory() };
    const per = (v: 'engine' | 'baseline') => {
      const a = acc[v];
      return {
        customers: a.enrolled,
        acceptSeconds: a.acceptS,
        enrolSeconds: a.settleS,
        enrolledPerS: a.enrolled / a.settleS,
        workerRssBeforeMiB: rssBefore[v].rss / MiB,
        workerRssWaitingMiB: rssAfter[v].rss / MiB,
        workerHeapUsedWaitingMiB: rssAfter[v].heapUsed / MiB,
        workerRssPerCustomerKiB: (rssAfter[v].rss - rssBefore[v].rss) / 1024 / a.enrolled,
        storeBytesPerCustomer: a.storeBytes / a.enrolled,
        temporalBytesPerCustomer: a.temporalBytes / a.enrolled,
      };
    };
    const e = per('engine');
    const b = per('baseline');
    ctx.results.waitingCustomers = {
      store: target.kind,
      note:
        'worker RSS is process.memoryUsage().rss of the worker child process; Temporal size is the dev server SQLite file (+WAL) growth; ' +
        'enrol time runs from the first request until every customer has its entry recorded by the worker',
      engine: e,
      baseline: b,
    };
    const B = `4 waiting customers (${e.customers.toLocaleString('en-US')}/variant)`;
    ctx.rows.push(
      { benchmark: B, metric: 'enrolled customers/s', unbroken: e.enrolledPerS, baseline: b.enrolledPerS, ratio: e.enrolledPerS / b.enrolledPerS, note: `Unbroken via /v1/batch; all enrolled in ${round(e.enrolSeconds)} s` },
      { benchmark: B, metric: 'worker RSS while waiting (MiB)', unbroken: e.workerRssWaitingMiB, baseline: b.workerRssWaitingMiB, ratio: e.workerRssWaitingMiB / b.workerRssWaitingMiB, note: `idle before: ${round(e.workerRssBeforeMiB)} vs ${round(b.workerRssBeforeMiB)} MiB` },
      { benchmark: B, metric: 'worker RSS per waiting customer (KiB)', unbroken: e.workerRssPerCustomerKiB, baseline: b.workerRssPerCustomerKiB, ratio: e.workerRssPerCustomerKiB / b.workerRssPerCustomerKiB },
      { benchmark: B, metric: `store bytes per customer (${target.kind})`, unbroken: e.storeBytesPerCustomer, baseline: b.storeBytesPerCustomer, ratio: e.storeBytesPerCustomer / b.storeBytesPerCustomer, note: 'Unbroken also stores the event, identity and enrolment' },
      { benchmark: B, metric: 'Temporal db bytes per customer', unbroken: e.temporalBytesPerCustomer, baseline: b.temporalBytesPerCustomer, ratio: e.temporalBytesPerCustomer / b.temporalBytesPerCustomer },
    );
  } finally {
    await Promise.all(Object.values(workers).map((w) => w.stop()));
    await api.close();
    await loop.stop();
    await store.close();
    await target.drop();
  }
}
