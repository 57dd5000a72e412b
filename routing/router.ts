/**
 * Routes accepted events into journeys: a matching trigger enters the customer (under the
 * journey's re-entry rule, decided by the store), and every journey the customer is inside that
 * listens for the event receives it as a signal. With `trigger.key`, runs are one per customer
 * and key: an event that carries a key value is heard only by the run with that key.
 */
import { isGrpcServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isAudienceTrigger, isDateTrigger, listeners, withTemplateHeads, type AudienceTriggerPlan, type JourneyPlan, type TimeWindow, type TrackEvent } from '../compiler/plan';
import type { EventRouter } from '../api/types';
import type { PartHealth } from '../health/probes';
import type { Enrolment, LiveStore, StoredEvent } from '../profiles/store';
import { instanceKeyOf, SUBSCRIPTIONS_TRAIT, triggerMatches } from '../core/index';
import { entryTime } from '../core/event-time';
import { audienceMatches, audienceTriggerMatches, exitsOnLeavingAudience, LEFT_AUDIENCE_EVENT } from '../core/audiences';
import { identifyTrigger, leftAudienceEvent, loadFacts } from './audiences';
import { dueDateEntries } from './dates';
import { log } from '../observability/log';
import { couldMatter } from './relevance';
import { noMetrics, type Metrics } from '../observability/metrics';
import type { journeyWorkflow } from '../workflows/journey';
import { eventSignal, identifySignal, JOURNEY_WORKFLOW, journeyWorkflowId, stateQuery, type JourneyInput } from '../workflows/definitions';

export interface RouterOptions {
  store: LiveStore;
  client: Client;
  taskQueue: string;
  defaultTimezone: string;
  /** Allowed sending window from the configured quiet hours, for journeys without their own. */
  quietHours?: TimeWindow;
  /** How long the list of deployed journeys is reused before it is read again. */
  journeysTtlMs?: number;
  /**
   * How long an event that ends a run and triggers its journey again waits for that run to close
   * before it enters the next one (default 10 s); after that it enters nobody, as when inside.
   */
  endingWaitMs?: number;
  /**
   * Deadline of each start or signal sent to Temporal (default 5 s). The client retries an
   * unreachable server for about 20 s; the router loop gives up sooner, keeps the stored event
   * and routes it again in a later sweep (routing/loop.ts).
   */
  temporalTimeoutMs?: number;
  /**
   * Temporal's last known health (a HealthMonitor's cached `temporal` part): while it is down,
   * routing fails at once instead of waiting out the deadline on every event.
   */
  temporalHealth?: () => PartHealth | undefined;
  /** Where the reasons an event entered nobody go (default: the process's log, at warn). */
  warn?: (message: string, detail: Record<string, unknown>) => void;
  /** Counts entries (default: nothing). */
  metrics?: Metrics;
}

/** A run's input as the store keeps it: everything but the plan, which the version names. */
type StoredInput = Omit<JourneyInput, 'plan'>;

type IdentifyPayload = { traits: Record<string, unknown>; timestamp?: string; messageId?: string };

/** Every event name a plan reacts to while a customer is inside it. */
export function eventsHeardBy(plan: JourneyPlan): Set<string> {
  return new Set(listeners(plan).map((m) => m.event));
}

/** True when the run was entered by this event (a redelivery or re-drive of its trigger). */
function enteredBy(run: Enrolment, event: TrackEvent): boolean {
  return event.messageId !== undefined && (run.input as StoredInput | null)?.trigger?.messageId === event.messageId;
}

/** Routing was refused at once because Temporal is known to be down (its last probe failed). */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';
}

/** gRPC codes of a server that is down, overloaded or restarting, never of a bad request. */
const UNAVAILABLE_GRPC_CODES = new Set([1, 4, 8, 10, 13, 14]);
/** Error codes of a database or network that is down or busy: Node sockets, SQLite, PostgreSQL (SQLSTATE). */
const UNAVAILABLE_CODES = /^(E(CONNREFUSED|CONNRESET|CONNABORTED|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)|SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)|08...|53...|57P0.|57014|40001|40P01|unreachable)/;
/**
 * Signs of an outage in the text of an error that carries no code: a gRPC status or errno name
 * quoted in a plain message (upper case, as they are written), or node-postgres' words
 * ("Connection terminated unexpectedly", "timeout exceeded when trying to connect").
 */
const UNAVAILABLE_NAMES = /\b(UNAVAILABLE|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|ECONNREFUSED|ECONNRESET|ETIMEDOUT)\b/;
const UNAVAILABLE_WORDS = /\b(timed out|timeout exceeded|connection (terminated|refused|reset|closed|ended)|unreachable|database is locked|not waiting for it|shutting down)\b/i;

/**
 * Whether a routing failure says a dependency is unavailable (Temporal or the store down, busy,
 * restarting, a deadline exceeded) rather than that this event cannot be routed. An outage must
 * never count against an event: such failures are retried without limit, and only the others
 * count towards setting an event aside (routing/loop.ts). Looks through the error's causes.
 * An error with a code (gRPC status, SQLSTATE, errno, the store's own) is judged by its code
 * alone: its text may quote ids a sender chose, which must not make an event unkillable.
 */
export function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e instanceof TemporalUnavailableError) return true;
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (isGrpcServiceError(e)) return UNAVAILABLE_GRPC_CODES.has(e.code);
    if (typeof code === 'string') return UNAVAILABLE_CODES.test(code);
    if (typeof message === 'string' && (UNAVAILABLE_NAMES.test(message) || UNAVAILABLE_WORDS.test(message))) return true;
    e = cause;
  }
  return false;
}

/** True for a start or signal-with-start that found the run already closed. */
/** The step id a run ended by `closedElsewhere` is recorded at (it shows in status and stats). */
export const CLOSED_ELSEWHERE_STEP = 'closed-in-temporal';

function alreadyClosed(err: unknown): boolean {
  return err instanceof WorkflowExecutionAlreadyStartedError;
}

/** The EventRouter of the live system, on Temporal. */
export class JourneyRouter implements EventRouter {
  private journeys?: { at: number; list: { plan: JourneyPlan; paused: boolean }[] };
  private readonly heard = new Map<string, Set<string>>();
  private readonly plans = new Map<string, JourneyPlan>();

  constructor(private readonly opts: RouterOptions) {}

  /** Forgets the cached journey list (after a deploy, pause or resume in this process). */
  refresh(): void {
    this.journeys = undefined;
  }

  private async deployed(): Promise<{ plan: JourneyPlan; paused: boolean }[]> {
    const ttl = this.opts.journeysTtlMs ?? 1000;
    // `>=`: a TTL of 0 re-reads every time, even twice within one millisecond.
    if (!this.journeys || Date.now() - this.journeys.at >= ttl) {
      const list = (await this.opts.store.deployedJourneys()).map((d) => ({ plan: d.plan as JourneyPlan, paused: d.paused }));
      this.journeys = { at: Date.now(), list };
    }
    return this.journeys.list;
  }

  /** The plan of a deployed version; versions never change, so they are cached for good. */
  private async planOf(journeyId: string, version: string): Promise<JourneyPlan> {
    const key = `${journeyId}@${version}`;
    let plan = this.plans.get(key);
    if (!plan) {
      const deployed = await this.opts.store.journeyVersion(journeyId, version);
      if (!deployed) throw new Error(`journey ${journeyId} version ${version} is not in the store; was the store reset?`);
      plan = deployed.plan as JourneyPlan;
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * The workflow input of a run. The store keeps it without the plan — the plan is in the
   * deployed version, and copying it into every enrolment would cost kilobytes per customer. The
   * run gets the plan with template heads only: its sends load the texts from the same version.
   */
  private async inputOf(enrolment: Enrolment): Promise<JourneyInput> {
    const stored = enrolment.input as StoredInput;
    return { ...stored, plan: withTemplateHeads(await this.planOf(enrolment.journeyId, enrolment.version)) };
  }

  private heardBy(plan: JourneyPlan): Set<string> {
    const key = `${plan.journey}@${plan.version}`;
    let names = this.heard.get(key);
    if (!names) {
      names = eventsHeardBy(plan);
      this.heard.set(key, names);
    }
    return names;
  }

  async route(event: StoredEvent): Promise<void> {
    const active = await this.opts.store.activeEnrolments(event.customerId);
    if (event.type === 'identify') {
      const trigger = identifyTrigger(event);
      // A run this identify entered (an audience journey) is started again on a re-delivery, never told of it.
      const others = active.filter((e) => !enteredBy(e, trigger));
      await Promise.all(active.filter((e) => enteredBy(e, trigger)).map((e) => this.start(e)));
      if (others.length > 0) {
        const traits = await this.statedConsent(event);
        await Promise.all(others.map((e) => this.signal(e, { identify: { traits, timestamp: event.timestamp, messageId: event.messageId } })));
      }
      await this.audienceEntries(event, trigger, active, new Set());
      await this.dateEntries(event, active);
      return;
    }
    const track: TrackEvent = {
      event: event.event ?? '',
      properties: event.properties ?? {},
      timestamp: event.timestamp,
      messageId: event.messageId,
    };
    // Running journeys first, so a journey entered by this very event does not hear it again.
    const listening: Enrolment[] = [];
    for (const e of active) if (await this.hears(e, track)) listening.push(e);
    // Runs this very event entered on an earlier delivery whose start failed (Temporal was down):
    // started here even if the journey has been paused or the trigger no longer matches since.
    // Starting a run that runs is a no-op.
    await Promise.all(active.filter((e) => enteredBy(e, track)).map((e) => this.start(e)));
    await Promise.all(listening.map((e) => this.signal(e, { event: track })));
    const signalled = new Set(listening.map((e) => e.workflowId));
    await this.eventEntries(event, track, signalled);
    await this.audienceEntries(event, track, active, signalled);
    await this.dateEntries(event, active);
  }

  /** Enters the customer into each unpaused date journey they are not inside whose date is due at the event's time. */
  private async dateEntries(event: StoredEvent, active: readonly Enrolment[]): Promise<void> {
    const inside = new Set(active.map((e) => e.journeyId));
    const journeys = (await this.deployed()).flatMap(({ plan, paused }) => (!paused && isDateTrigger(plan.trigger) && !inside.has(plan.journey) ? [plan] : []));
    if (journeys.length === 0) return;
    const nowMs = Date.parse(entryTime(event.timestamp, event.receivedAt));
    for (const { plan, entry } of await dueDateEntries(this.opts.store, event.customerId, journeys, this.opts.defaultTimezone, nowMs)) {
      await this.enterFromAudience(plan, event.customerId, entry.trigger, entry.occurrence);
    }
  }

  /** Enters the customer into every journey whose trigger is this track event and holds for it. */
  private async eventEntries(event: StoredEvent, track: TrackEvent, signalled: ReadonlySet<string>): Promise<void> {
    const candidates = (await this.deployed()).flatMap(({ plan, paused }) => (!paused && !isAudienceTrigger(plan.trigger) && plan.trigger.event === track.event ? [{ plan, trigger: plan.trigger }] : []));
    if (candidates.length === 0) return;
    // Entry, its conditions and the re-entry rule take the clamped time, never the sender's raw
    // clock (core/event-time.ts); the run still carries the timestamp as sent.
    const at = entryTime(event.timestamp, event.receivedAt);
    const nowMs = Date.parse(at);
    // One read of what every candidate's where needs: in_audience and events.* include this event.
    const facts = await loadFacts(this.opts.store, event.customerId, candidates.map((c) => c.trigger.where), nowMs);
    for (const { plan, trigger } of candidates) {
      if (!triggerMatches(trigger, track, facts.profile, nowMs, facts.consent, facts.events)) continue;
      let key: string | undefined;
      if (trigger.key) {
        const found = instanceKeyOf(trigger.key, track);
        if (!found.ok) {
          // Never a keyless run in a keyed journey: the event enters nobody, and says why.
          this.warn(`journey ${plan.journey}: ${found.reason}; the event entered nobody`, { journey: plan.journey, customerId: event.customerId, messageId: event.messageId });
          continue;
        }
        key = found.key;
      }
      await this.enter(plan, event.customerId, track, at, key, signalled);
    }
  }

  /**
   * Journeys that start from an audience, for the identify or track being routed: first each run
   * that ends when its customer leaves the audience, and no longer matches, is told so (it ends
   * `exited`); then every unpaused audience journey the customer is not inside enters them when
   * they match, under its re-entry rule, with this event as the run's trigger. Customers with no
   * such run read nothing more unless an audience journey is deployed.
   */
  private async audienceEntries(event: StoredEvent, trigger: TrackEvent, active: readonly Enrolment[], signalled: ReadonlySet<string>): Promise<void> {
    // A run that heard this event may have been ended by it (its goal) and may be entered again.
    const inside = new Set(active.filter((e) => !signalled.has(e.workflowId)).map((e) => e.journeyId));
    const journeys = (await this.deployed()).flatMap(({ plan, paused }) =>
      !paused && isAudienceTrigger(plan.trigger) && !inside.has(plan.journey) ? [{ plan, trigger: plan.trigger }] : [],
    );
    const leaving = await this.runsThatLeave(active, trigger);
    if (journeys.length === 0 && leaving.length === 0) return;
    const at = entryTime(event.timestamp, event.receivedAt);
    const nowMs = Date.parse(at);
    const conditions = [...journeys.flatMap((j) => [j.trigger.members, j.trigger.where]), ...leaving.map((l) => l.trigger.members)];
    const facts = await loadFacts(this.opts.store, event.customerId, conditions, nowMs);
    const left = leaving.filter((l) => !audienceMatches(l.trigger.members, facts, nowMs));
    await Promise.all(left.map((l) => this.tellLeftAudience(l.run, l.trigger.audience, trigger)));
    for (const { plan, trigger: entry } of journeys) {
      if (audienceTriggerMatches(entry, trigger, facts, nowMs)) await this.enter(plan, event.customerId, trigger, at, undefined, signalled);
    }
  }

  /**
   * Tells a run its customer no longer matches its audience (it ends `exited`); `cause` names what
   * found it out (a routed event, or a sweep), and a second word of the same cause is dropped by the run.
   */
  async tellLeftAudience(run: Enrolment, audience: string, cause: TrackEvent): Promise<void> {
    await this.signal(run, { event: leftAudienceEvent(audience, cause) });
  }

  /** The customer's runs that end on leaving their audience (`left_audience`), but not one this very event entered. */
  private async runsThatLeave(active: readonly Enrolment[], cause: TrackEvent): Promise<{ run: Enrolment; trigger: AudienceTriggerPlan }[]> {
    const out: { run: Enrolment; trigger: AudienceTriggerPlan }[] = [];
    for (const run of active) {
      if (enteredBy(run, cause)) continue;
      const plan = await this.planOf(run.journeyId, run.version);
      if (isAudienceTrigger(plan.trigger) && exitsOnLeavingAudience(plan)) out.push({ run, trigger: plan.trigger });
    }
    return out;
  }

  /**
   * The identify's traits with each consent statement replaced by the state the store holds now,
   * which ordered it by when it happened: a statement older than one already held (an identify
   * replayed from a queue) must not reach running journeys as if it were news.
   */
  private async statedConsent(event: StoredEvent): Promise<Record<string, unknown>> {
    const traits = event.traits ?? {};
    const stated = traits[SUBSCRIPTIONS_TRAIT];
    if (typeof stated !== 'object' || stated === null || Array.isArray(stated)) return traits;
    const held: Record<string, Record<string, string>> = {};
    for (const [channel, categories] of Object.entries(stated as Record<string, unknown>)) {
      if (typeof categories !== 'object' || categories === null || Array.isArray(categories)) continue;
      for (const category of Object.keys(categories)) {
        const state = await this.opts.store.consent(event.customerId, channel, category);
        if (state !== 'unknown') held[channel] = { ...held[channel], [category]: state };
      }
    }
    return { ...traits, [SUBSCRIPTIONS_TRAIT]: held };
  }

  /**
   * Whether a running run hears the event: its plan listens for the name, it is not the run this
   * very event entered (a redelivery), some matcher's `where` could hold for it (./relevance.ts),
   * and, in a keyed journey, the event carries no key value or the run's own. An event without
   * the key's value reaches every run of the customer.
   */
  private async hears(run: Enrolment, event: TrackEvent): Promise<boolean> {
    // Only the router says a customer left an audience; an event of that name from outside is nobody's.
    if (event.event === LEFT_AUDIENCE_EVENT) return false;
    const plan = await this.planOf(run.journeyId, run.version);
    if (!this.heardBy(plan).has(event.event)) return false;
    if (enteredBy(run, event)) return false;
    const trigger = (run.input as StoredInput | null)?.trigger;
    if (trigger && !couldMatter(plan, event, trigger)) return false;
    if (isAudienceTrigger(plan.trigger) || !plan.trigger.key || run.instanceKey === undefined) return true;
    const found = instanceKeyOf(plan.trigger.key, event);
    return !found.ok || found.key === run.instanceKey;
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    if (this.opts.warn) this.opts.warn(message, detail);
    else log().warn(detail, message);
  }

  /**
   * Enters a customer the audience sweep or a broadcast found in an audience journey's audience,
   * by the same path a routed event takes (the store's enrolment under the re-entry rule, then the
   * run's start). With `occurrence` (a schedule firing, a date's occurrence) the customer enters
   * once per occurrence, which is the run's key. True when a new run was entered.
   */
  async enterFromAudience(plan: JourneyPlan, customerId: string, trigger: TrackEvent, occurrence?: string): Promise<boolean> {
    return this.enter(plan, customerId, trigger, trigger.timestamp, occurrence, new Set(), occurrence !== undefined);
  }

  private async enter(plan: JourneyPlan, customerId: string, trigger: TrackEvent, at: string, key: string | undefined, signalled: ReadonlySet<string>, perOccurrence = false): Promise<boolean> {
    const input: StoredInput = {
      customerId,
      trigger,
      defaultTimezone: this.opts.defaultTimezone,
      timelineInResult: false,
      ...(this.opts.quietHours ? { quietHours: this.opts.quietHours } : {}),
      ...(key ? { key } : {}),
    };
    const attempt = () =>
      this.opts.store.tryEnrol({
        journeyId: plan.journey,
        customerId,
        version: plan.version,
        reEntry: plan.reEntry,
        at,
        workflowIdPrefix: journeyWorkflowId(plan.journey, customerId, key),
        input,
        ...(key ? (perOccurrence ? { occurrence: key } : { key }) : {}),
      });
    let decision = await attempt();
    if (!decision.enrolled && decision.reason === 'active') {
      const running = (await this.opts.store.activeEnrolments(customerId)).find((e) => e.journeyId === plan.journey && (e.instanceKey ?? '') === (key ?? ''));
      // The run inside heard this very event: if the event ended it (goal, exit_when), the next
      // run may start once it has closed, under the re-entry rule. The store decides again.
      if (running && signalled.has(running.workflowId) && (await this.closedBy(running, trigger))) decision = await attempt();
      else if (running) {
        // The enrolment may come from an earlier delivery whose start failed (Temporal was down);
        // starting it again is a no-op when it runs, and finishes the job when it never started.
        await this.start(running);
        return false;
      }
    }
    if (!decision.enrolled) return false;
    await this.start(decision.enrolment);
    (this.opts.metrics ?? noMetrics).journeyEntered(plan.journey);
    return true;
  }

  /**
   * True once a run that the event ended has closed. The state query is answered after the
   * signal sent before it, so `outcome` says whether this event ended the run; the run closes
   * its enrolment in the store before the workflow completes, so after `result()` a new entry
   * is decided on the closed history. Bounded by `endingWaitMs`.
   */
  private async closedBy(run: Enrolment, event: TrackEvent): Promise<boolean> {
    const handle = this.opts.client.workflow.getHandle(run.workflowId);
    const waitMs = this.opts.endingWaitMs ?? 10_000;
    try {
      return await this.opts.client.withDeadline(Date.now() + waitMs, async () => {
        const state = await handle.query(stateQuery);
        if (!state.outcome) return false;
        await handle.result();
        return true;
      });
    } catch (err) {
      this.warn(`journey ${run.journeyId}: the "${event.event}" event ended run ${run.workflowId} but it did not close within ${waitMs} ms; the event entered nobody`, {
        journey: run.journeyId,
        customerId: run.customerId,
        messageId: event.messageId,
        error: String(err),
      });
      return false;
    }
  }

  /** Runs Temporal calls under the per-call deadline, or fails at once while Temporal is known to be down. */
  private async temporal<T>(fn: () => Promise<T>): Promise<T> {
    const health = this.opts.temporalHealth?.();
    if (health?.state === 'down') throw new TemporalUnavailableError(`Temporal is unreachable (${health.detail ?? 'down'}); not waiting for it`);
    return this.opts.client.withDeadline(Date.now() + (this.opts.temporalTimeoutMs ?? 5000), fn);
  }

  private async start(enrolment: Enrolment): Promise<void> {
    const input = await this.inputOf(enrolment);
    try {
      await this.temporal(() =>
        this.opts.client.workflow.start(JOURNEY_WORKFLOW, {
          workflowId: enrolment.workflowId,
          taskQueue: this.opts.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      );
    } catch (err) {
      if (!alreadyClosed(err)) throw err;
      await this.closedElsewhere(enrolment);
    }
  }

  /**
   * Temporal has a closed run under this enrolment's workflow id. Normally the run ended itself and
   * its enrolment with it; an enrolment still open means the run was ended outside the journey
   * (terminated in Temporal's UI, or a forgotten customer's history not yet deleted when the same
   * id came back). Left open it would hold the customer "inside" forever and keep them out of the
   * journey, so it is ended as failed, with the reason, and the customer's next events may enter.
   */
  private async closedElsewhere(enrolment: Enrolment): Promise<void> {
    const open = await this.opts.store.activeEnrolments(enrolment.customerId);
    if (!open.some((run) => run.workflowId === enrolment.workflowId)) return;
    await this.opts.store.recordStep({
      idempotencyKey: `${enrolment.workflowId}:closed-in-temporal`,
      workflowId: enrolment.workflowId,
      journeyId: enrolment.journeyId,
      version: enrolment.version,
      customerId: enrolment.customerId,
      stepId: CLOSED_ELSEWHERE_STEP,
      kind: 'failed',
      at: new Date().toISOString(),
      detail: { reason: 'closed_in_temporal' },
    });
    this.warn(`journey ${enrolment.journeyId}: run ${enrolment.workflowId} is closed in Temporal but was open in the store; ended it as failed`, {
      journey: enrolment.journeyId,
      customerId: enrolment.customerId,
      workflowId: enrolment.workflowId,
    });
  }

  /**
   * Delivers an event to a run. A plain signal carries only the event; when the run is not found
   * — its start is racing this event, or it has ended — signal-with-start carries the run's input
   * too, so a racing start cannot lose the event, and `REJECT_DUPLICATE` keeps an ended run ended.
   */
  private async signal(enrolment: Enrolment, payload: { event: TrackEvent } | { identify: IdentifyPayload }): Promise<void> {
    const handle = this.opts.client.workflow.getHandle(enrolment.workflowId);
    try {
      if ('event' in payload) await this.temporal(() => handle.signal(eventSignal, payload.event));
      else await this.temporal(() => handle.signal(identifySignal, payload.identify));
      return;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const base = {
      workflowId: enrolment.workflowId,
      taskQueue: this.opts.taskQueue,
      args: [await this.inputOf(enrolment)] as [JourneyInput],
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    };
    try {
      const workflow = this.opts.client.workflow;
      if ('event' in payload) {
        await this.temporal(() => workflow.signalWithStart<typeof journeyWorkflow, [TrackEvent]>(JOURNEY_WORKFLOW, { ...base, signal: eventSignal, signalArgs: [payload.event] }));
      } else {
        await this.temporal(() =>
          workflow.signalWithStart<typeof journeyWorkflow, [IdentifyPayload]>(JOURNEY_WORKFLOW, { ...base, signal: identifySignal, signalArgs: [payload.identify] }),
        );
      }
    } catch (err) {
      if (!alreadyClosed(err)) throw err;
      await this.closedElsewhere(enrolment);
    }
  }
}
