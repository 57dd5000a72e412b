/**
 * Benchmark 2, ingestion: events/s and request latency through /v1/track and /v1/batch with
 * keep-alive (autocannon in a child process), every event routed — a customer's first event
 * enters bench-visit (workflow start), later ones are signals to the running journey — against a
 * bare fastify endpoint that validates with the same schemas and stores the same rows without
 * routing. SQLite always, PostgreSQL too when DATABASE_URL names one; A B A B rounds.
 */
import type { BenchContext } from '../lib/context';
import { instrument, type StageStats } from '../lib/instrument';
import { runLoad, type LoadResult } from '../lib/load';
import { percentile, progress, round } from '../lib/report';
import { AUTHORIZATION, drainTaskQueue, startBareApi, startLiveSystem } from '../lib/system';

const PER_CUSTOMER = 10;

export async function ingestion(ctx: BenchContext): Promise<void> {
  const { sizes, runId } = ctx;
  const out: Record<string, unknown> = {};
  for (const target of await ctx.ingestStores()) {
    const taskQueue = `bench-ingest-${target.kind}-${runId}`;
    progress(`ingestion (${target.kind}): starting the live system (API, router, worker, store) and the bare endpoint`);
    const system = await startLiveSystem(ctx, target.url, taskQueue);
    const bare = await startBareApi(system.store);
    const stages = instrument(system);
    try {
      const byEndpoint: Record<string, unknown> = {};
      for (const endpoint of ['track', 'batch'] as const) {
        const runs: Record<'unbroken' | 'baseline', LoadResult[]> = { unbroken: [], baseline: [] };
        const breakdown: Record<string, StageStats> = {};
        const load = (variant: 'unbroken' | 'baseline', r: number, seconds: number) =>
          runLoad({
            url: variant === 'unbroken' ? system.apiUrl : bare.url,
            endpoint,
            batchSize: sizes.batchSize,
            kind: 'visit',
            prefix: `${runId}-${target.kind}-${endpoint}-${variant}-r${r}`,
            perCustomer: PER_CUSTOMER,
            connections: sizes.ingestConnections,
            duration: seconds,
            authorization: AUTHORIZATION,
          });
        // Warm-up for both servers (JIT, store statements, Temporal connections); not measured.
        await load('unbroken', 0, 1);
        await load('baseline', 0, 1);
        await drainTaskQueue(ctx.client, ctx.temporal.namespace, taskQueue);
        for (let r = 1; r <= sizes.ingestRounds; r++) {
          for (const variant of ['unbroken', 'baseline'] as const) {
            progress(`ingestion (${target.kind}): /v1/${endpoint} round ${r}/${sizes.ingestRounds} ${variant}, ${sizes.ingestSeconds} s × ${sizes.ingestConnections} connections`);
            stages.reset();
            const res = await load(variant, r, sizes.ingestSeconds);
            if (variant === 'unbroken') {
              for (const [stage, st] of Object.entries(stages.snapshot())) {
                const into = (breakdown[stage] ??= { calls: 0, totalMs: 0 });
                into.calls += st.calls;
                into.totalMs += st.totalMs;
              }
            }
            progress(`ingestion (${target.kind}):   ${round(res.eventsPerS)} events/s, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}, errors ${res.errors}`);
            runs[variant].push(res);
            // Journeys started and signalled in this round are worked off before the next round.
            if (variant === 'unbroken') await drainTaskQueue(ctx.client, ctx.temporal.namespace, taskQueue);
          }
        }
        const summary = (rs: LoadResult[]) => {
          const events = rs.reduce((s, r) => s + r.events, 0);
          const seconds = rs.reduce((s, r) => s + r.durationS, 0);
          return {
            eventsPerS: events / seconds,
            // Latencies are per request (a batch request carries batchSize events).
            // A round in which no request finished (a slow batch under load) has no latency to report.
            p50Ms: percentile(rs.filter((r) => r.ok > 0).map((r) => r.p50), 50),
            p99Ms: Math.max(...rs.filter((r) => r.ok > 0).map((r) => r.p99)),
            non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
            errors: rs.reduce((s, r) => s + r.errors + r.timeouts, 0),
            rounds: rs,
          };
        };
        const u = summary(runs.unbroken);
        const b = summary(runs.baseline);
        // Mean wall time per routed event spent in each stage (stages overlap: route includes temporal.*).
        const routed = breakdown['router.route (total)']?.calls ?? 0;
        const perEventMs = Object.fromEntries(
          Object.entries(breakdown)
            .sort((x, y) => y[1].totalMs - x[1].totalMs)
            .map(([stage, st]) => [stage, { callsPerEvent: round(st.calls / Math.max(1, routed), 2), msPerEvent: round(st.totalMs / Math.max(1, routed), 2), msPerCall: round(st.totalMs / Math.max(1, st.calls), 2) }]),
        );
        const storeMs = Object.entries(breakdown).filter(([k]) => k.startsWith('store.')).reduce((sum, [, st]) => sum + st.totalMs, 0) / Math.max(1, routed);
        const temporalMs = Object.entries(breakdown).filter(([k]) => k.startsWith('temporal.')).reduce((sum, [, st]) => sum + st.totalMs, 0) / Math.max(1, routed);
        progress(`ingestion (${target.kind}): /v1/${endpoint} per routed event: Temporal calls ${round(temporalMs, 1)} ms, store calls ${round(storeMs, 1)} ms`);
        byEndpoint[endpoint] = { unbroken: u, baseline: b, ratio: u.eventsPerS / b.eventsPerS, perEventMs };
        const B = `2 ingestion ${target.kind}`;
        const what = endpoint === 'batch' ? `/v1/batch (${sizes.batchSize}/request)` : '/v1/track';
        const failures = u.non2xx + u.errors + b.non2xx + b.errors;
        ctx.rows.push(
          { benchmark: B, metric: `${what} events/s`, unbroken: u.eventsPerS, baseline: b.eventsPerS, ratio: u.eventsPerS / b.eventsPerS, note: failures ? `${failures} failed requests` : undefined },
          { benchmark: B, metric: `${what} request p50 (ms)`, unbroken: u.p50Ms, baseline: b.p50Ms, ratio: u.p50Ms / b.p50Ms },
          { benchmark: B, metric: `${what} request p99 (ms)`, unbroken: u.p99Ms, baseline: b.p99Ms, ratio: u.p99Ms / b.p99Ms },
          { benchmark: B, metric: `${what} ms per routed event in Temporal calls / store calls`, unbroken: `${round(temporalMs, 1)} / ${round(storeMs, 1)}`, note: 'wall time, from timers around the calls' },
        );
      }
      out[target.kind] = byEndpoint;
    } finally {
      await bare.app.close();
      await system.stop();
      await target.drop();
    }
  }
  ctx.results.ingestion = { perCustomer: `1 start + ${PER_CUSTOMER - 1} signals`, connections: sizes.ingestConnections, ...out };
}
