/**
 * The state of one customer's run through one journey, and the few operations every step needs:
 * the journey clock, durable sleeps an ending cuts short, the fresh profile, the timeline.
 */
import { condition, patched } from '@temporalio/workflow';
import type { Condition, EventMatcher, JourneyPlan, Step, TrackEvent } from '../../compiler/plan';
import type { BuiltinActivities } from '../../activities/index';
import type { JourneyContext, RidingRecords } from '../../activities/types';
import type { StepOutcome } from '../../core/step-outcomes';
import type { Profile } from '../../profiles/store';
import { aggregateReads, consentReads, emptyProfile, withStatements, type ConsentStates, type EventAggregates, type Scope } from '../../core/index';
import { IF_READS_EVENT_AGGREGATES } from './patches';
import type { JourneyInput, JourneyResult, JourneyState, TimelineEntry } from '../definitions';
import type { Ending } from '../pure/ending';
import { failureMessage } from '../pure/failure';
import { stepKey, type RunIdentity } from '../pure/keys';
import { runStep } from '../steps/index';
import { EarlierEvents } from './earlier-events';
import { PlanActivities } from './proxies';
import { Timeline, type RecordsMode, type TimelineRecorders } from './timeline';

/** A work activity's result, what it carried for the timeline, and the journey clock it worked at (`JourneyRun.work`). */
export interface Worked<T> {
  result: T;
  riding: RidingRecords;
  now: string;
}

/** Thrown inside the interpreter to unwind to the top once the journey has ended. */
class JourneyEnded extends Error {}

/** A `wait_for` in progress: what it waits for and the event that satisfied it. */
export interface WaitingFor {
  matcher: EventMatcher;
  matched?: TrackEvent;
}

/** One customer's run through one journey: its state and what every step handler needs. */
export class JourneyRun {
  readonly plan: JourneyPlan;
  readonly context: JourneyContext;
  readonly activities: PlanActivities;
  readonly timeline: Timeline;
  /** As the last step (or identify) left it; steps that read it load it fresh first. */
  profile: Profile;
  /** Where the customer is; entries a signal brings are filed under it. */
  currentStep = 'entry';
  /** Set by a goal or exit event, an `exit:` step or a failure; every wait watches it. */
  ending: Ending | undefined;
  waitingFor: WaitingFor | undefined;
  /** Events no `wait_for` took, for a later `wait_for ... since: entry`. */
  readonly earlierEvents: EarlierEvents;
  /** The event the latest `wait_for` received (`received.*`); a timeout leaves it as it was. */
  received: TrackEvent | undefined;
  /** Identifies that reached the run so far; a dated wait watches it to follow a moved date. */
  identifies = 0;
  /** messageIds of the events and identifies signalled so far; a repeat is dropped (./handlers.ts). */
  readonly heardMessageIds = new Set<string>();
  /** When the journey's own flow last noted an entry (the entry included): where a `wait` counts from. */
  private lastNotedMs: number;
  /** `consent.*` as last read from the store (by a step whose condition reads it) or stated by an identify since. */
  consent: ConsentStates = {};
  /** `events.*` as last read from the store by an `if` that reads them (in_audience, events.order_completed.count). */
  events: EventAggregates = {};
  /** Consent an identify stated while a store read of consent was in flight (see `freshConsent`). */
  private statedDuringRead: unknown[] = [];
  private consentReadsInFlight = 0;
  private readonly identity: RunIdentity;
  /** Journey clock minus server clock; `Date.now()` is the task's start time, so the same on replay. */
  private readonly offset: number;
  private readonly loadProfile: BuiltinActivities['loadProfile'];

  constructor(
    readonly input: JourneyInput,
    info: { workflowId: string; firstExecutionRunId: string },
    recordsSignals: () => boolean,
    /** How the flow's records reach the store (timeline.ts RecordsMode, chosen by patches). */
    records: RecordsMode = 'each',
  ) {
    this.plan = input.plan;
    this.offset = input.startAt ? Date.parse(input.startAt) - Date.now() : 0;
    this.profile = emptyProfile(input.customerId);
    this.identity = { workflowId: info.workflowId, firstExecutionRunId: info.firstExecutionRunId, version: input.plan.version };
    this.context = {
      workflowId: info.workflowId,
      journeyId: input.plan.journey,
      version: input.plan.version,
      customerId: input.customerId,
      enteredAt: this.iso(),
      trigger: input.trigger,
      ...(input.key ? { key: input.key } : {}),
    };
    this.lastNotedMs = Date.parse(this.context.enteredAt);
    this.activities = new PlanActivities(input.plan);
    this.earlierEvents = new EarlierEvents(input.plan);
    this.loadProfile = this.activities.builtin('loadProfile');
    const recorders: TimelineRecorders =
      records === 'each'
        ? { flow: this.activities.builtin('recordStep'), signals: this.activities.local('recordStep') }
        : { batch: this.activities.localBatch(), ride: records === 'riding' };
    this.timeline = new Timeline(recorders, this.context, this.identity, recordsSignals);
  }

  /** The journey clock in ms: the server's, shifted when the run simulates another moment. */
  now(): number {
    return Date.now() + this.offset;
  }

  /** A journey-clock instant as ISO text, as timelines and templates show it. */
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString();
  }

  /** What conditions and `{{ expressions }}` read; `event` is the event being matched, if any. */
  scope(event?: TrackEvent): Scope {
    return {
      profile: this.profile,
      trigger: this.input.trigger as unknown as Record<string, unknown>,
      journey: { id: this.plan.journey, version: this.plan.version, entered_at: this.context.enteredAt },
      event: event as unknown as Record<string, unknown> | undefined,
      ...(this.received ? { received: this.received as unknown as Record<string, unknown> } : {}),
      consent: this.consent,
      events: this.events,
    };
  }

  /** Idempotency key of a step's side effect. */
  keyFor(stepId: string): string {
    return stepKey(this.identity, stepId);
  }

  /**
   * Adds an entry of the journey's own flow to the timeline and waits until it is stored. `atMs`
   * dates it to an earlier instant: a timer's, which the task that notes it starts a little after.
   */
  note(step: string, kind: TimelineEntry['kind'], detail: Record<string, unknown> = {}, atMs: number = this.now()): Promise<void> {
    this.lastNotedMs = atMs;
    return this.timeline.note({ at: this.iso(atMs), step, kind, ...detail }, detail);
  }

  /**
   * Calls a work activity (a send, a profile update) with the journey clock it works at and what
   * it carries for the timeline (Timeline.carry: the kept flow records, and for riding runs where
   * its outcome record goes). If it fails, the records it carried are kept again for the next write.
   */
  async work<T>(stepId: string, call: (now: string, riding: RidingRecords) => Promise<T>): Promise<Worked<T>> {
    const now = this.iso();
    const riding = this.timeline.carry(stepId);
    try {
      return { result: await call(now, riding), riding, now };
    } catch (err) {
      this.timeline.putBack(riding);
      throw err;
    }
  }

  /**
   * Notes a work activity's outcome. When its record rode along the activity stored it, dated at
   * the journey clock the activity was given; otherwise it is noted now, as before.
   */
  noteOutcome(step: string, { kind, detail }: StepOutcome, { riding, now }: Worked<unknown>): Promise<void> {
    if (!riding.outcome) return this.note(step, kind, detail);
    this.lastNotedMs = Date.parse(now);
    return this.timeline.stored({ at: now, step, kind, ...detail });
  }

  /** Adds an entry a signal brought, at the step the customer is in. */
  noteSignal(kind: TimelineEntry['kind'], detail: Record<string, unknown>): void {
    this.timeline.fromSignal({ at: this.iso(), step: this.currentStep, kind, ...detail }, detail);
  }

  /**
   * The instant a wait of `ms` ends and how long to sleep for it. It counts from the last timeline
   * entry, not from now, so the milliseconds spent storing entries between steps do not add up:
   * entered at 10:00:00.000, `wait: 1h` ends at 11:00:00.000. At least 1 ms, so there is always a timer.
   */
  waitEnd(ms: number): { untilMs: number; sleepMs: number } {
    const untilMs = Math.max(this.lastNotedMs + ms, this.now() + 1);
    return { untilMs, sleepMs: untilMs - this.now() };
  }

  /** Sleeps on a durable timer that an ending (goal, exit) cuts short. */
  async sleep(ms: number): Promise<void> {
    await this.beforeWaiting();
    if (ms > 0) await condition(() => this.ending !== undefined, ms);
    this.stopIfEnded();
  }

  /** Stores the timeline so far before the run waits, so `status` shows where it waits. */
  beforeWaiting(): Promise<void> {
    return this.timeline.flush();
  }

  /** Unwinds to `run()` once a signal or a step has ended the journey. */
  stopIfEnded(): void {
    if (this.ending) throw new JourneyEnded();
  }

  /** Ends the journey here (an `exit:` step). */
  end(ending: Ending): never {
    this.ending = ending;
    throw new JourneyEnded();
  }

  /** Reads the profile from the store: it may have changed since the last step. */
  async freshProfile(): Promise<Profile> {
    this.profile = await this.loadProfile({ customerId: this.input.customerId });
    return this.profile;
  }

  /**
   * Reads from the store the consent states these conditions read (`consent.sms.marketing`).
   * Conditions without `consent.*` (every plan compiled before it existed) read nothing: no command.
   */
  async freshConsent(...conditions: (Condition | undefined)[]): Promise<void> {
    const reads = consentReads(...conditions);
    if (reads.length === 0) return;
    this.consentReadsInFlight += 1;
    try {
      const states = await this.activities.builtin('loadConsent')({ customerId: this.input.customerId, reads });
      for (const [channel, categories] of Object.entries(states)) this.consent = { ...this.consent, [channel]: { ...this.consent[channel], ...categories } };
      // An identify that arrived while the store was read is newer than what the read saw.
      for (const statements of this.statedDuringRead) this.consent = withStatements(this.consent, statements);
    } finally {
      this.consentReadsInFlight -= 1;
      if (this.consentReadsInFlight === 0) this.statedDuringRead = [];
    }
  }

  /**
   * Reads from the store the event aggregates a condition reads (`in_audience`, `events.*`), as of
   * the journey clock's now. Conditions without them (every plan compiled before audiences) read
   * nothing: no command.
   */
  async freshAggregates(condition: Condition): Promise<void> {
    const reads = aggregateReads(condition);
    if (reads.length === 0 || !patched(IF_READS_EVENT_AGGREGATES)) return;
    this.events = await this.activities.builtin('loadAggregates')({ customerId: this.input.customerId, reads, nowMs: this.now() });
  }

  /** Consent an identify states (`subscriptions`): conditions see it at once, and no read in flight undoes it. */
  stateConsent(statements: unknown): void {
    this.consent = withStatements(this.consent, statements);
    if (this.consentReadsInFlight > 0) this.statedDuringRead.push(statements);
  }

  /** Runs steps in order, each with the handler of its kind; branches call this for their steps. */
  async runSteps(steps: Step[]): Promise<void> {
    for (const step of steps) {
      this.stopIfEnded();
      this.currentStep = step.id;
      await runStep(step, this);
    }
  }

  /** Records the entry: the first entry of the timeline. */
  async enter(): Promise<void> {
    await this.timeline.entered(this.context.enteredAt, this.input.trigger.event);
    // Goal and exit conditions are tested in signal handlers, which cannot read the store.
    await this.freshConsent(this.plan.goal?.where, ...this.plan.exitWhen.map((m) => m.where));
  }

  /** Runs the plan's steps until they end or something ends the journey; a failure becomes the ending. */
  async runPlan(): Promise<void> {
    try {
      await this.runSteps(this.plan.steps);
    } catch (err) {
      if (!(err instanceof JourneyEnded)) this.ending = { outcome: 'failed', step: this.currentStep, reason: failureMessage(err) };
    }
  }

  /** Records the outcome (completed when nothing else ended the journey) as the last entry. */
  async finish(): Promise<JourneyResult> {
    // Set before the last note, so signals arriving while it is stored change nothing.
    const end: Ending = this.ending ?? { outcome: 'completed', step: this.currentStep };
    this.ending = end;
    await this.note(end.step, end.outcome, { ...(end.reason ? { reason: end.reason } : {}), ...end.detail });
    await this.timeline.flush();
    const timeline = this.input.timelineInResult === false ? [] : this.timeline.entries;
    return { outcome: end.outcome, reason: end.reason, timeline };
  }

  /** What the state query answers. */
  state(): JourneyState {
    return {
      journey: this.plan.journey,
      version: this.plan.version,
      customerId: this.input.customerId,
      ...(this.input.key ? { key: this.input.key } : {}),
      currentStep: this.ending ? undefined : this.currentStep,
      outcome: this.ending?.outcome,
      timeline: this.timeline.entries,
    };
  }
}
