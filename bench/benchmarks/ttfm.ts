/**
 * Benchmark 3, time to first message: from the `track` request to the SMTP sink holding the mail,
 * for a journey whose first step is `send` (bench-hello), sequential probes at light load and
 * while autocannon fires other events at the API. Baseline, alternating probe by probe: the same
 * send started straight through the Temporal client as a hand-written workflow (no API, no
 * routing, no interpreter), with a worker of the same options in the same process.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { builtinActivityPolicies, createActivities } from '../../activities/index';
import { smtpMailer } from '../../activities/mailer';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import type { BaselineInput } from '../baseline/workflows';
import type { BenchContext } from '../lib/context';
import { startLoad, type LoadResult } from '../lib/load';
import { percentile, progress, round, sleepMs } from '../lib/report';
import { AUTHORIZATION, startLiveSystem } from '../lib/system';

export async function timeToFirstMessage(ctx: BenchContext): Promise<void> {
  const { sizes, runId, client, smtp } = ctx;
  const target = await ctx.store();
  const taskQueue = `bench-ttfm-${runId}`;
  const baselineQueue = `bench-ttfm-baseline-${runId}`;
  progress(`time to first message: starting the live system (${target.kind}) and a hand-written worker`);
  const system = await startLiveSystem(ctx, target.url, taskQueue);
  const templates = Object.fromEntries([...compileDefinitions(ctx.definitionsDir, activityCatalog).templates].filter(([id]) => id.startsWith('bench-')));
  const connection = await NativeConnection.connect({ address: ctx.temporal.address });
  // Same options as createJourneyWorker, same store object and mailer settings as the live worker.
  const worker = await Worker.create({
    connection,
    namespace: ctx.temporal.namespace,
    taskQueue: baselineQueue,
    workflowBundle: { codePath: ctx.bundles.baseline },
    activities: createActivities({ store: system.store, mailer: smtpMailer(smtp.url), mailFrom: 'Bench <bench@127.0.0.1>' }),
    shutdownGraceTime: '10s',
  });
  const running = worker.run();

  const probe = async (variant: 'unbroken' | 'baseline', id: string): Promise<number> => {
    const email = `${id}@bench.test`;
    await system.store.identify(id, { email, first_name: 'Probe' });
    const t0 = performance.now();
    if (variant === 'unbroken') {
      const res = await fetch(`${system.apiUrl}/v1/track`, {
        method: 'POST',
        headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: id, event: 'bench_hello', messageId: `${id}-m` }),
      });
      if (res.status !== 200) throw new Error(`track answered ${res.status}: ${await res.text()}`);
    } else {
      const input: BaselineInput = {
        customerId: id,
        journeyId: 'bench-hello-baseline',
        trigger: { event: 'bench_hello', properties: {}, timestamp: new Date().toISOString() },
        templates,
        policies: builtinActivityPolicies,
      };
      await client.workflow.start('baselineSendFirst', { workflowId: `baseline:hello:${id}`, taskQueue: baselineQueue, args: [input] });
    }
    return (await smtp.arrival(email, 60_000)) - t0;
  };

  const levels: Record<string, unknown> = {};
  try {
    // Warm-up: a few probes of each kind, not measured.
    for (let i = 0; i < 3; i++) {
      await probe('unbroken', `${runId}-ttfm-warm-u${i}`);
      await probe('baseline', `${runId}-ttfm-warm-b${i}`);
    }
    // The heavy level runs at 70 % of what /v1/track sustained in benchmark 2 (when it ran), so
    // the API is busy but the queue stays bounded; otherwise at a fixed 100 events/s.
    const ingest = ctx.results.ingestion as { sqlite?: { track?: { unbroken?: { eventsPerS?: number } } } } | undefined;
    const measured = ingest?.sqlite?.track?.unbroken?.eventsPerS;
    const heavyRate = Math.max(20, Math.round(measured ? measured * 0.7 : 100));
    for (const level of ['light', 'heavy'] as const) {
      const times: Record<'unbroken' | 'baseline', number[]> = { unbroken: [], baseline: [] };
      const background =
        level === 'heavy'
          ? startLoad({
              url: system.apiUrl,
              endpoint: 'track',
              batchSize: 1,
              kind: 'visit',
              prefix: `${runId}-ttfm-bg`,
              perCustomer: 10,
              connections: 8,
              overallRate: heavyRate,
              // An upper bound only: the load is stopped as soon as the probes are done.
              duration: 300,
              authorization: AUTHORIZATION,
            })
          : undefined;
      if (background) await sleepMs(2000);
      progress(`time to first message: ${level} load${background ? ` (background ${heavyRate} events/s on /v1/track)` : ''}, ${sizes.ttfmProbes} probes per variant, alternating`);
      for (let i = 0; i < sizes.ttfmProbes; i++) {
        for (const variant of ['unbroken', 'baseline'] as const) {
          times[variant].push(await probe(variant, `${runId}-ttfm-${level}-${variant}-${i}`));
        }
      }
      let bg: LoadResult | undefined;
      if (background) {
        background.stop();
        bg = await background.result;
      }
      const s = (xs: number[]) => ({ p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), maxMs: Math.max(...xs), samples: xs.length });
      const u = s(times.unbroken);
      const b = s(times.baseline);
      progress(`time to first message: ${level}: Unbroken p50 ${round(u.p50Ms)} ms, baseline p50 ${round(b.p50Ms)} ms`);
      levels[level] = { unbroken: u, baseline: b, background: bg };
      const B = '3 time to first message';
      const note = bg ? `background ${round(bg.eventsPerS)} events/s achieved` : 'sequential';
      ctx.rows.push(
        { benchmark: B, metric: `${level} load p50 (ms)`, unbroken: u.p50Ms, baseline: b.p50Ms, ratio: u.p50Ms / b.p50Ms, note },
        { benchmark: B, metric: `${level} load p99 (ms)`, unbroken: u.p99Ms, baseline: b.p99Ms, ratio: u.p99Ms / b.p99Ms },
      );
    }
    ctx.results.timeToFirstMessage = { store: target.kind, heavyRate, ...levels };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await system.stop();
    await target.drop();
  }
}
