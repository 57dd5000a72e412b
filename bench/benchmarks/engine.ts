/**
 * Benchmark 1, engine overhead: N customers through the five-step journey compiled from YAML
 * (the interpreter) versus the same journey written by hand as a Temporal workflow with only its
 * 4 business activities (the substrate's cost of the journey), and, for information, the
 * hand-written one with the interpreter's 11 activities; same worker options, same server, same
 * customers per round, alternating rounds.
 */
import { temporal } from '@temporalio/proto';
import { builtinActivityPolicies } from '../../activities/index';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { withTemplateHeads } from '../../compiler/plan';
import { openProfileStore } from '../../profiles/index';
import { JOURNEY_WORKFLOW, journeyWorkflowId, type JourneyInput } from '../../workflows/definitions';
import type { BaselineInput } from '../baseline/workflows';
import type { BenchContext } from '../lib/context';
import { median, percentile, pool, progress, round, within } from '../lib/report';
import { startWorkerPair, type ChildWorker } from '../lib/workers';

type Variant = 'engine' | 'baseline' | 'minimal';
const LABEL: Record<Variant, string> = {
  engine: 'compiled YAML (interpreter)',
  baseline: 'hand-written, same activities',
  minimal: 'hand-written, business activities only',
};
/**
 * Activity calls per journey, counted from workflows/journey.ts and bench/baseline/workflows.ts.
 * The engine's 7 step records are local activities (a marker each, no task round trip).
 */
const ACTIVITIES: Record<Variant, number> = { engine: 11, baseline: 11, minimal: 4 };
const WAIT_MS = 1000;

interface RoundResult {
  variant: Variant;
  round: number;
  journeys: number;
  seconds: number;
  perSecond: number;
  /** Per journey: completion − start request − the 1 s wait, in ms. */
  overheadMs: number[];
}

export async function engineOverhead(ctx: BenchContext): Promise<void> {
  const { sizes, client, runId } = ctx;
  const compiled = compileDefinitions(ctx.definitionsDir, activityCatalog);
  const plan = compiled.plans.get('bench-five');
  if (!plan) throw new Error('bench-five did not compile');
  const templates = Object.fromEntries([...compiled.templates].filter(([id]) => id.startsWith('bench-')));

  const target = await ctx.store();
  const store = await openProfileStore(target.url, ctx.tmp);
  // Deployed as `unbroken deploy` does: the sends load their templates from this version.
  await store.deployJourneys([{ journeyId: plan.journey, version: plan.version, plan }], new Date().toISOString());
  const headed = withTemplateHeads(plan);
  const queues: Record<'engine' | 'baseline', string> = { engine: `bench-engine-${runId}`, baseline: `bench-baseline-${runId}` };
  let workers: Partial<Record<'engine' | 'baseline', ChildWorker>> = {};
  progress(`engine overhead: starting an interpreter worker and a hand-written worker (child processes, ${target.kind} store)`);
  try {
    workers = await startWorkerPair(ctx, target.url, queues, 'bench');

    const perRound = Math.ceil(sizes.engineCustomers / sizes.engineRounds);
    const run = async (variant: Variant, round: number, count: number): Promise<RoundResult> => {
      const ids = Array.from({ length: count }, (_, i) => `${runId}-${variant}-r${round}-c${i}`);
      // Profiles exist before the clock starts: sends need an address, and identify is not what is measured.
      for (const id of ids) await store.identify(id, { email: `${id}@bench.test`, first_name: 'Bench', vip: id.endsWith('7') });
      const starts = new Map<string, number>();
      const ends: number[] = [];
      const overheadMs: number[] = [];
      const t0 = performance.now();
      await within(`${variant} round ${round}`, 600_000, () =>
        pool(ids, 64, async (id) => {
          const trigger = { event: 'bench_five', properties: {}, timestamp: new Date().toISOString(), messageId: `${id}-trigger` };
          starts.set(id, performance.now());
          let handle;
          if (variant === 'engine') {
            // As the router starts runs: template heads only, the timeline in the store, not in the result.
            const input: JourneyInput = { plan: headed, customerId: id, trigger, defaultTimezone: 'UTC', timelineInResult: false };
            handle = await client.workflow.start(JOURNEY_WORKFLOW, { workflowId: `${journeyWorkflowId('bench-five', id)}:1`, taskQueue: queues.engine, args: [input] });
          } else {
            const input: BaselineInput = { customerId: id, journeyId: 'bench-five-baseline', trigger, templates, policies: builtinActivityPolicies };
            handle = await client.workflow.start(variant === 'baseline' ? 'baselineFiveSteps' : 'baselineFiveStepsMinimal', {
              workflowId: `baseline:${variant}:${id}`,
              taskQueue: queues.baseline,
              args: [input],
            });
          }
          await handle.result();
          const end = performance.now();
          ends.push(end);
          overheadMs.push(end - (starts.get(id) ?? end) - WAIT_MS);
        }),
      );
      const seconds = (Math.max(...ends) - t0) / 1000;
      return { variant, round, journeys: count, seconds, perSecond: count / seconds, overheadMs };
    };

    // Warm-up (not measured): loads the bundles into the workers' isolates, opens SMTP and store
    // connections and lets V8 optimise the hot paths, for every variant alike.
    progress('engine overhead: warm-up (5 journeys per variant, not measured)');
    const variants: Variant[] = ['engine', 'minimal', 'baseline'];
    for (const v of variants) await run(v, 0, 5);

    const results: RoundResult[] = [];
    for (let r = 1; r <= sizes.engineRounds; r++) {
      for (const v of variants) {
        progress(`engine overhead: round ${r}/${sizes.engineRounds}, ${perRound} customers, ${LABEL[v]}`);
        const res = await run(v, r, perRound);
        progress(`engine overhead:   ${round(res.perSecond)} journeys/s, p50 overhead ${round(percentile(res.overheadMs, 50))} ms`);
        results.push(res);
      }
    }

    // What one journey leaves in Temporal's history: the plan pinned into the input is the big part.
    const historyOf = async (workflowId: string) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return { events: history.events?.length ?? 0, bytes: temporal.api.history.v1.History.encode(history).finish().length };
    };
    const sample = `${runId}-engine-r1-c0`;
    const history = {
      engine: await historyOf(`${journeyWorkflowId('bench-five', sample)}:1`),
      baseline: await historyOf(`baseline:baseline:${runId}-baseline-r1-c0`),
      minimal: await historyOf(`baseline:minimal:${runId}-minimal-r1-c0`),
    };

    const summary = (v: Variant) => {
      const rs = results.filter((r) => r.variant === v);
      const all = rs.flatMap((r) => r.overheadMs);
      const journeys = rs.reduce((s, r) => s + r.journeys, 0);
      const seconds = rs.reduce((s, r) => s + r.seconds, 0);
      return {
        label: LABEL[v],
        journeys,
        perSecond: journeys / seconds,
        perSecondByRound: rs.map((r) => round(r.perSecond, 1)),
        medianRoundPerSecond: median(rs.map((r) => r.perSecond)),
        overheadP50Ms: percentile(all, 50),
        overheadP99Ms: percentile(all, 99),
        activitiesPerJourney: ACTIVITIES[v],
        history: history[v],
      };
    };
    const engine = summary('engine');
    const baseline = summary('baseline');
    const minimal = summary('minimal');
    const ratio = engine.perSecond / minimal.perSecond;
    ctx.results.engineOverhead = {
      customersPerVariant: engine.journeys,
      rounds: sizes.engineRounds,
      store: target.kind,
      journey: 'send, wait 1s, if, update_profile, send',
      engine,
      baseline,
      minimal,
      throughputRatio: ratio,
      overheadPercent: (1 / ratio - 1) * 100,
    };
    const B = '1 engine overhead';
    const vs = (x: ReturnType<typeof summary>) => ({ baseline: x.perSecond, ratio: engine.perSecond / x.perSecond });
    ctx.rows.push(
      { benchmark: B, metric: 'completed journeys/s vs business activities only', unbroken: engine.perSecond, ...vs(minimal), note: `${engine.journeys} customers/variant, ${target.kind}` },
      { benchmark: B, metric: 'latency beyond the 1 s wait p50 (ms)', unbroken: engine.overheadP50Ms, baseline: minimal.overheadP50Ms, ratio: engine.overheadP50Ms / minimal.overheadP50Ms },
      { benchmark: B, metric: 'latency beyond the 1 s wait p99 (ms)', unbroken: engine.overheadP99Ms, baseline: minimal.overheadP99Ms, ratio: engine.overheadP99Ms / minimal.overheadP99Ms },
      { benchmark: B, metric: 'history bytes per journey vs business activities only', unbroken: engine.history.bytes, baseline: minimal.history.bytes, ratio: engine.history.bytes / minimal.history.bytes, note: `${engine.history.events} vs ${minimal.history.events} events` },
      { benchmark: B, metric: 'completed journeys/s vs the same 11 activities', unbroken: engine.perSecond, ...vs(baseline), note: `info: that workflow makes the interpreter's ${ACTIVITIES.baseline} activity calls, all as tasks` },
      { benchmark: B, metric: 'history bytes per journey vs the same 11 activities', unbroken: engine.history.bytes, baseline: baseline.history.bytes, ratio: engine.history.bytes / baseline.history.bytes, note: `info: ${engine.history.events} vs ${baseline.history.events} events` },
    );
  } finally {
    await Promise.all(Object.values(workers).map((w) => w.stop()));
    await store.close();
    await target.drop();
  }
}
