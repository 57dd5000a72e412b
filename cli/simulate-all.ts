/**
 * `unbroken simulate --all`: one customer and one script of events through every journey of the
 * definitions, entered and signalled as the live router would (routing/router.ts). All runs share
 * one in-memory store, so a frequency cap, consent, suppression or profile update of one journey
 * is seen by the others, and one time-skipping server, whose clock moves for all of them.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowClient, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { JourneyPlan } from '../compiler/plan';
import type { SqliteProfileStore } from '../profiles/sqlite';
import type { Profile } from '../profiles/store';
import { eventsHeardBy } from '../routing/router';
import { withScheduleFirings } from './simulate-schedule';
import { withDateEntries } from './simulate-dates';
import { journeyWorkflowId, stateQuery, type JourneyResult, type Outcome, type TimelineEntry } from '../workflows/definitions';
import {
  arrivalOf,
  entryMsOf,
  entryOf,
  formatReport,
  leavesAudience,
  signalLeft,
  journeyClock,
  runHears,
  signalRun,
  simulationServer,
  simulationStore,
  simulationWorker,
  startRun,
  type JourneyClock,
  type SimEvent,
  type SimulateOptions,
} from './simulate';

/** A timeline entry of `simulate --all`: which journey's run it belongs to. */
export type JourneyTimelineEntry = TimelineEntry & { journey: string };

/** How one run of one journey ended. */
export interface RunReport {
  journey: string;
  version: string;
  outcome: Outcome;
  reason?: string;
}

export interface AllSimulationReport {
  customer: string;
  /** Every run, in the order they were entered; a journey may have several (re-entry, trigger keys). */
  runs: RunReport[];
  /** Every run's timeline merged in time order. */
  timeline: JourneyTimelineEntry[];
  profile: Profile;
}

/** What `simulate` takes, with every journey of the definitions instead of one. */
export type SimulateAllOptions = Omit<SimulateOptions, 'plan' | 'onFinished'> & { plans: readonly JourneyPlan[] };

interface Run {
  plan: JourneyPlan;
  key?: string;
  /** The event that entered the run: its trigger. */
  entry: SimEvent;
  heard: ReadonlySet<string>;
  handle: WorkflowHandle;
  ended: boolean;
}

/** Runs every journey for the customer and returns what they experienced across all of them. */
export async function simulateAll(given: SimulateAllOptions): Promise<AllSimulationReport> {
  const opts = { ...given, events: await withDateEntries(given.plans, withScheduleFirings(given.plans, given.events, given.startMs), given) };
  const env = await simulationServer(opts.env);
  const store = await simulationStore(opts.profile);
  try {
    const { worker, taskQueue, calls } = await simulationWorker(env, store, opts.delivery);
    const finished = await worker.runUntil(new Router(env, store, taskQueue, opts).drive());
    const timeline = finished
      .flatMap(({ run, result }) => calls.attach(run.handle.workflowId, result.timeline).map((t) => ({ ...t, journey: run.plan.journey })))
      .map((t, i) => ({ t, i }))
      .sort((a, b) => Date.parse(a.t.at) - Date.parse(b.t.at) || a.i - b.i)
      .map(({ t }) => t);
    const runs = finished.map(({ run, result }) => ({ journey: run.plan.journey, version: run.plan.version, outcome: result.outcome, ...(result.reason ? { reason: result.reason } : {}) }));
    const profile = (await store.getProfile(opts.profile.id)) ?? opts.profile;
    return { customer: opts.profile.id, runs, timeline, profile };
  } finally {
    await store.close();
    if (!opts.env) await env.teardown();
  }
}

/** The live router's decisions for one customer, on the simulation's server and store. */
class Router {
  private readonly runs: Run[] = [];
  /** Waits for a run's result without the test client's unlocking of time skipping. */
  private readonly plain: WorkflowClient;
  private readonly customerId: string;

  constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly store: SqliteProfileStore,
    private readonly taskQueue: string,
    private readonly opts: SimulateAllOptions,
  ) {
    this.plain = new WorkflowClient({ connection: env.connection, namespace: env.namespace });
    this.customerId = opts.profile.id;
  }

  async drive(): Promise<{ run: Run; result: JourneyResult }[]> {
    const clock = await journeyClock(this.env, this.opts.startMs, this.opts.clock);
    for (let i = 0; i < this.opts.events.length; i++) {
      const e = this.opts.events[i];
      await clock.advanceTo(arrivalOf(e));
      const running = await this.running();
      if (e.type === 'identify') await this.store.identify(this.customerId, e.traits);
      // Running journeys first, so a journey entered by this very event does not hear it again.
      const signalled = e.type === 'identify' ? running : running.filter((run) => runHears(run.plan, run.heard, run, e));
      for (const run of signalled) await signalRun(run.handle, e);
      for (const run of running) if (await leavesAudience(run.plan, this.opts.events, i, this.store, this.opts.profile)) await signalLeft(run.handle, run.plan, e);
      // An identify ends no run: the runs it reached are still inside.
      const mayHaveEnded = e.type === 'identify' ? [] : signalled;
      for (const plan of this.opts.plans) await this.enter(plan, i, mayHaveEnded, clock);
    }
    const finished: { run: Run; result: JourneyResult }[] = [];
    // One at a time: a shared clock counts each awaited result as this simulation waiting.
    for (const run of this.runs) finished.push({ run, result: (await (this.opts.clock ? this.opts.clock.result(run.handle) : run.handle.result())) as JourneyResult });
    return finished;
  }

  /** The runs still running now, in the order they were entered. */
  private async running(): Promise<Run[]> {
    for (const run of this.runs) if (!run.ended) run.ended = (await run.handle.describe()).status.name !== 'RUNNING';
    return this.runs.filter((run) => !run.ended);
  }

  /** Enters the customer into `plan` if event `index` matches its trigger and the store's re-entry rule allows it. */
  private async enter(plan: JourneyPlan, index: number, signalled: readonly Run[], clock: JourneyClock): Promise<void> {
    const found = await entryOf(plan, this.opts.events, index, this.store, this.opts.profile);
    if (!found.enters) return;
    const entry = this.opts.events[index];
    const at = new Date(entryMsOf(entry)).toISOString();
    const attempt = () =>
      this.store.tryEnrol({
        journeyId: plan.journey,
        customerId: this.customerId,
        version: plan.version,
        reEntry: plan.reEntry,
        at,
        // Unique per simulation: tests share one server, and workflow ids must not collide there.
        workflowIdPrefix: `${journeyWorkflowId(plan.journey, this.customerId, found.key)}:simulation:${randomUUID()}`,
        input: {},
        ...(found.key ? { key: found.key } : {}),
        ...(found.occurrence ? { occurrence: found.occurrence } : {}),
      });
    let decision = await attempt();
    if (!decision.enrolled && decision.reason === 'active') {
      // As the router does: the run inside may have been ended by this very event (goal,
      // exit_when); once it has closed, the store decides again under the re-entry rule.
      const inside = signalled.find((run) => run.plan.journey === plan.journey && run.key === found.key);
      if (inside && (await this.endedBy(inside))) decision = await attempt();
    }
    if (!decision.enrolled) return;
    const handle = await startRun(this.env, this.taskQueue, {
      plan,
      customerId: this.customerId,
      entry,
      key: found.key,
      workflowId: decision.enrolment.workflowId,
      defaultTimezone: this.opts.defaultTimezone,
      quietHours: this.opts.quietHours,
    });
    if (this.runs.length === 0) await clock.anchor(arrivalOf(entry), handle);
    this.runs.push({ plan, key: found.key, entry, heard: eventsHeardBy(plan), handle, ended: false });
  }

  /** True once a run that the event just reached has ended and closed (it closes its enrolment first). */
  private async endedBy(run: Run): Promise<boolean> {
    const state = await run.handle.query(stateQuery);
    if (!state.outcome) return false;
    await this.plain.getHandle(run.handle.workflowId).result();
    run.ended = true;
    return true;
  }
}

/** Renders a report of every journey as a timeline for a person to read, with a journey column. */
export function formatAllReport(r: AllSimulationReport): string {
  const width = Math.max(7, ...r.timeline.map((t) => t.journey.length));
  const runs = r.runs.length === 0 ? ['  no journey was entered'] : r.runs.map((run) => `  ${run.journey} (version ${run.version}): ${run.outcome}${run.reason ? ` (${run.reason})` : ''}`);
  // The single-journey renderer formats each entry; the journey goes in front of its step.
  const body = formatReport({
    journey: '',
    version: '',
    customer: r.customer,
    outcome: 'completed',
    timeline: r.timeline.map(({ journey, ...t }) => ({ ...t, step: `${journey.padEnd(width)} ${t.step.padEnd(28)}` })),
    profile: r.profile,
  })
    .split('\n')
    .slice(1);
  return [`every journey for customer ${r.customer}: ${r.runs.length} run${r.runs.length === 1 ? '' : 's'}`, ...runs, ...body].join('\n');
}
