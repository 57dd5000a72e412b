/**
 * Benchmark 2, ingestion: acceptance and routing, measured apart, with keep-alive load on
 * /v1/track and /v1/batch (autocannon in a child process). SQLite always, PostgreSQL too when
 * DATABASE_URL names one; rounds alternate the three variants.
 *
 * - Acceptance: events no journey hears, through the live system's API, against a bare fastify
 *   endpoint that validates with the same schemas and stores the same rows (in a store of its
 *   own, which nobody routes).
 * - Routing: events that enter and signal journeys — a customer's first event enters bench-visit
 *   (workflow start), later ones are signals to the running journey — accepted and routed by the
 *   live system in one process, as `unbroken start` runs; routed/s and the lag from the store's
 *   received_at and routed_at, against a hand-written client making the same Temporal calls for
 *   the same event mix.
 */
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { openProfileStore } from '../../profiles/index';
import type { BenchContext } from '../lib/context';
import { awaitRouted, handWrittenRouting, roundRouting } from '../lib/routing';
import { instrument, type StageStats } from '../lib/instrument';
import { runLoad, type LoadResult } from '../lib/load';
import { percentile, progress, round } from '../lib/report';
import { AUTHORIZATION, drainTaskQueue, startBareApi, startLiveSystem } from '../lib/system';

const PER_CUSTOMER = 10;
/** Customers the router loop routes side by side (RoutingLoop's customersPerPage default). */
const ROUTER_CONCURRENCY = 20;

/**
 * Journey events, accepted and routed in one process; events no journey hears, accepted with the
 * router loop paused (the API alone, as beside `unbroken router` processes) and routed after; the
 * same calls on the bare endpoint.
 */
type Variant = 'unbroken' | 'accept' | 'baseline';
const VARIANTS: readonly Variant[] = ['unbroken', 'accept', 'baseline'];
const VARIANT_LABEL: Record<Variant, string> = { unbroken: 'journey events, accepted and routed', accept: 'events no journey hears, routing paused', baseline: 'the same on the bare endpoint' };

export async function ingestion(ctx: BenchContext): Promise<void> {
  const { sizes, runId } = ctx;
  const out: Record<string, unknown> = {};
  const targets = await ctx.ingestStores();
  // The bare endpoint's own stores, of the same kinds: its events must not be routed by the live system.
  const bareTargets = await ctx.ingestStores();
  const visit = compileDefinitions(ctx.definitionsDir, activityCatalog).plans.get('bench-visit')!;
  for (const [t, target] of targets.entries()) {
    const taskQueue = `bench-ingest-${target.kind}-${runId}`;
    progress(`ingestion (${target.kind}): starting the live system (API, router, worker, store) and the bare endpoint`);
    const system = await startLiveSystem(ctx, target.url, taskQueue);
    const bareStore = await openProfileStore(bareTargets[t].url, ctx.tmp);
    const bare = await startBareApi(bareStore);
    const stages = instrument(system);
    const loop = system.routing!;
    try {
      const byEndpoint: Record<string, unknown> = {};
      for (const endpoint of ['track', 'batch'] as const) {
        const runs: Record<Variant, LoadResult[]> = { unbroken: [], accept: [], baseline: [] };
        const routing = { events: 0, seconds: 0, lagsMs: [] as number[] };
        const unheard = { events: 0, seconds: 0 };
        const breakdown: Record<string, StageStats> = {};
        const prefixOf = (variant: Variant, r: number) => `${runId}-${target.kind}-${endpoint}-${variant}-r${r}`;
        const load = (variant: Variant, r: number, seconds: number) =>
          runLoad({
            url: variant === 'baseline' ? bare.url : system.apiUrl,
            endpoint,
            batchSize: sizes.batchSize,
            kind: variant === 'unbroken' ? 'visit' : 'unheard',
            prefix: prefixOf(variant, r),
            perCustomer: PER_CUSTOMER,
            connections: sizes.ingestConnections,
            duration: seconds,
            authorization: AUTHORIZATION,
          });
        const settle = async () => {
          await awaitRouted(() => system.store.routingBacklog());
          await drainTaskQueue(ctx.client, ctx.temporal.namespace, taskQueue);
        };
        // Warm-up for both servers (JIT, store statements, Temporal connections); not measured.
        await load('unbroken', 0, 1);
        await load('baseline', 0, 1);
        await settle();
        for (let r = 1; r <= sizes.ingestRounds; r++) {
          for (const variant of VARIANTS) {
            const seconds = variant === 'unbroken' ? sizes.ingestJourneySeconds : sizes.ingestSeconds;
            progress(`ingestion (${target.kind}): /v1/${endpoint} round ${r}/${sizes.ingestRounds} ${VARIANT_LABEL[variant]}, ${seconds} s × ${sizes.ingestConnections} connections`);
            stages.reset();
            if (variant === 'accept') await loop.stop();
            const res = await load(variant, r, seconds);
            const resumed = performance.now();
            if (variant === 'accept') {
              loop.start();
              loop.wake();
            }
            progress(`ingestion (${target.kind}):   ${round(res.eventsPerS)} events/s accepted, p50 ${res.p50} ms, p99 ${res.p99} ms, non-2xx ${res.non2xx}, errors ${res.errors}`);
            runs[variant].push(res);
            if (variant === 'baseline') continue;
            // The round's events are routed (the router loop may still be at it) before its stages are read.
            await awaitRouted(() => system.store.routingBacklog());
            const routed = await roundRouting(target.url, prefixOf(variant, r));
            if (variant === 'accept') {
              const seconds = (performance.now() - resumed) / 1000;
              unheard.events += routed.events;
              unheard.seconds += seconds;
              progress(`ingestion (${target.kind}):   then routed (to no journey) ${routed.events} events in ${round(seconds, 1)} s`);
            } else {
              for (const [stage, st] of Object.entries(stages.snapshot())) {
                const into = (breakdown[stage] ??= { calls: 0, totalMs: 0 });
                into.calls += st.calls;
                into.totalMs += st.totalMs;
              }
              routing.events += routed.events;
              routing.seconds += routed.spanS;
              for (const lag of routed.lagsMs) routing.lagsMs.push(lag);
              progress(`ingestion (${target.kind}):   routed ${routed.events} events in ${round(routed.spanS, 1)} s from the first accepted, lag p50 ${round(percentile(routed.lagsMs, 50))} ms`);
            }
            // The journeys the round started and signalled are worked off before the next round.
            await drainTaskQueue(ctx.client, ctx.temporal.namespace, taskQueue);
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
        const a = summary(runs.accept);
        const b = summary(runs.baseline);
        // The substrate routes as many customers as a round had, with the loop's concurrency.
        const customers = Math.max(20, Math.round(routing.events / sizes.ingestRounds / PER_CUSTOMER));
        progress(`ingestion (${target.kind}): hand-written routing, ${customers} customers × ${PER_CUSTOMER} events`);
        const raw = await handWrittenRouting({ client: ctx.client, taskQueue, plan: visit, prefix: `${runId}-${target.kind}-${endpoint}-raw`, customers, perCustomer: PER_CUSTOMER, concurrency: ROUTER_CONCURRENCY });
        await drainTaskQueue(ctx.client, ctx.temporal.namespace, taskQueue);
        const routedPerS = routing.events / routing.seconds;
        const rawPerS = raw.events / raw.seconds;
        // Mean wall time per routed event spent in each stage (stages overlap: route includes temporal.*).
        const routedCalls = breakdown['router.route (total)']?.calls ?? 0;
        const perEventMs = Object.fromEntries(
          Object.entries(breakdown)
            .sort((x, y) => y[1].totalMs - x[1].totalMs)
            .map(([stage, st]) => [stage, { callsPerEvent: round(st.calls / Math.max(1, routedCalls), 2), msPerEvent: round(st.totalMs / Math.max(1, routedCalls), 2), msPerCall: round(st.totalMs / Math.max(1, st.calls), 2) }]),
        );
        const storeMs = Object.entries(breakdown).filter(([k]) => k.startsWith('store.')).reduce((sum, [, st]) => sum + st.totalMs, 0) / Math.max(1, routedCalls);
        const temporalMs = Object.entries(breakdown).filter(([k]) => k.startsWith('temporal.')).reduce((sum, [, st]) => sum + st.totalMs, 0) / Math.max(1, routedCalls);
        progress(`ingestion (${target.kind}): /v1/${endpoint} per routed event: Temporal calls ${round(temporalMs, 1)} ms, store calls ${round(storeMs, 1)} ms`);
        const lag = { p50Ms: percentile(routing.lagsMs, 50), p99Ms: percentile(routing.lagsMs, 99) };
        byEndpoint[endpoint] = { unheard: a, journeyEvents: u, baseline: b, perEventMs, routing: { routedPerS, rawPerS, unheardRoutedPerS: unheard.events / unheard.seconds, lag } };
        const B = `2 ingestion ${target.kind}`;
        const what = endpoint === 'batch' ? `/v1/batch (${sizes.batchSize}/request)` : '/v1/track';
        const failed = (x: ReturnType<typeof summary>) => x.non2xx + x.errors;
        const note = (x: ReturnType<typeof summary>) => (failed(x) + failed(b) ? `${failed(x) + failed(b)} failed requests` : undefined);
        ctx.rows.push(
          { benchmark: B, metric: `${what} accepted events/s, the API alone (routing paused)`, unbroken: a.eventsPerS, baseline: b.eventsPerS, ratio: a.eventsPerS / b.eventsPerS, note: note(a) ?? 'events no journey hears; baseline: same schemas and store writes, nothing else' },
          { benchmark: B, metric: `${what} request p50 / p99 (ms), the API alone`, unbroken: `${a.p50Ms} / ${a.p99Ms}`, baseline: `${b.p50Ms} / ${b.p99Ms}`, ratio: a.p99Ms / b.p99Ms },
          { benchmark: B, metric: `${what} those events then routed (to no journey) per s`, unbroken: unheard.events / unheard.seconds, note: 'the backlog worked off after the round' },
          { benchmark: B, metric: `${what} accepted events/s, journey events, routed meanwhile`, unbroken: u.eventsPerS, baseline: b.eventsPerS, ratio: u.eventsPerS / b.eventsPerS, note: note(u) ?? 'API, router loop, worker and Temporal share the 2 cores' },
          { benchmark: B, metric: `${what} request p50 / p99 (ms), journey events`, unbroken: `${u.p50Ms} / ${u.p99Ms}`, baseline: `${b.p50Ms} / ${b.p99Ms}`, ratio: u.p99Ms / b.p99Ms },
          { benchmark: B, metric: `${what} journey events routed per s`, unbroken: routedPerS, baseline: rawPerS, ratio: routedPerS / rawPerS, note: `first accepted to last routed; baseline: a hand-written client, start + signal-with-start, ${ROUTER_CONCURRENCY} customers at once` },
          { benchmark: B, metric: `${what} routing lag p50 / p99 (ms, accepted → routed)`, unbroken: `${round(lag.p50Ms)} / ${round(lag.p99Ms)}` },
          { benchmark: B, metric: `${what} ms per routed event in Temporal calls / store calls`, unbroken: `${round(temporalMs, 1)} / ${round(storeMs, 1)}`, note: 'wall time, from timers around the calls' },
        );
      }
      out[target.kind] = byEndpoint;
    } finally {
      await bare.app.close();
      await bareStore.close();
      await system.stop();
      await target.drop();
      await bareTargets[t].drop();
    }
  }
  ctx.results.ingestion = { perCustomer: `1 start + ${PER_CUSTOMER - 1} signals`, connections: sizes.ingestConnections, ...out };
}
