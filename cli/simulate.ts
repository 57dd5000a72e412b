/**
 * `unbroken simulate`: runs one journey for one customer through the real compiler, the real
 * workflow code and the real activities, on Temporal's time-skipping test server. Nothing is
 * sent: mail goes to a capturing mailer and the profile lives in an in-memory SQLite store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { captureMailer } from '../activities/mailer';
import type { DeliveryPolicy, SimulatedRequest } from '../activities/types';
import { shortUnsubscribeLinks } from '../delivery/short-links';
import { DEFAULT_SURVEY_LINK_TTL_MS, surveyLinkBuilder } from '../delivery/survey-tokens';
import { DEFAULT_UNSUBSCRIBE_TTL_MS, unsubscribePolicyUrl } from '../delivery/tokens';
import { isAudienceTrigger, isDateTrigger, isScheduleTrigger, type Condition, type JourneyPlan, type TimeWindow, type TrackEvent } from '../compiler/plan';
import { formatDuration, parseDuration } from '../compiler/durations';
import { SqliteProfileStore } from '../profiles/sqlite';
import type { Profile } from '../profiles/store';
import { consentReads, readConsent } from '../core/consent';
import { triggerMatches } from '../core/events';
import { aggregateReads, aggregatesFromEvents, audienceMatches, audienceTriggerMatches, exitsOnLeavingAudience, LEFT_AUDIENCE_EVENT, type AudienceFacts } from '../core/audiences';
import { entryTime } from '../core/event-time';
import { identifyTrigger, leftAudienceEvent } from '../routing/audiences';
import { eventsHeardBy } from '../routing/router';
import { couldMatter } from '../routing/relevance';
import { instanceKeyOf } from '../core/instance-key';
import { isValidTimeZone, localClockText } from '../core/time';
import {
  eventSignal,
  identifySignal,
  journeyWorkflowId,
  JOURNEY_WORKFLOW,
  type JourneyInput,
  type JourneyResult,
  type Outcome,
  type TimelineEntry,
} from '../workflows/definitions';
import { createTimeSkippingEnv } from '../worker/test-server';
import { journeyBundle } from '../worker/worker';
import { SimulatedCalls } from './simulated-calls';
import { isFiring, isFiringOf, occurrenceOf, withScheduleFirings } from './simulate-schedule';
import { dateEntryOccurrence, isDateEntry, withDateEntries } from './simulate-dates';

/**
 * A scripted event, at an absolute journey-clock time. `arrivalMs` is set for a past event (an `at`
 * before the start): it was sent back-dated and arrives at the start, as a back-filled history
 * does in the live system; the others arrive when they happen.
 */
export type SimEvent = (
  | { atMs: number; type: 'track'; event: string; properties: Record<string, unknown>; line?: number }
  | { atMs: number; type: 'identify'; traits: Record<string, unknown>; line?: number }
) & { arrivalMs?: number };

/** When a scripted event reaches Unbroken: the start for a past event, else when it happens. */
export function arrivalOf(e: SimEvent): number {
  return e.arrivalMs ?? e.atMs;
}

export interface SimulationReport {
  journey: string;
  version: string;
  customer: string;
  outcome: Outcome | 'not_entered';
  reason?: string;
  timeline: TimelineEntry[];
  profile: Profile;
}

/** Raised for unusable simulation input (exit code 2 in the CLI). */
export class SimulationInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationInputError';
  }
}

const profileSchema = z.looseObject({ id: z.union([z.string().min(1), z.number()]).transform(String) });

/** Validates a profile file's parsed JSON. */
export function parseProfile(json: unknown, file: string): Profile {
  const parsed = profileSchema.safeParse(json);
  if (!parsed.success) throw new SimulationInputError(`${file}: the profile must be one JSON object with an "id", e.g. {"id":"u1","email":"ann@example.com"}`);
  const { id, tags, ...traits } = parsed.data as Record<string, unknown> & { id: string };
  return { ...traits, id, tags: Array.isArray(tags) ? (tags as string[]) : [] };
}

const eventLine = z.discriminatedUnion('type', [
  z.strictObject({
    at: z.string(),
    type: z.literal('track'),
    event: z.string().min(1),
    properties: z.record(z.string(), z.unknown()).default({}),
    timestamp: z.string().optional(),
  }),
  z.strictObject({ at: z.string(), type: z.literal('identify'), traits: z.record(z.string(), z.unknown()) }),
]);

/** Parses an events file (JSON lines; `at` is `+<duration>` from start or an ISO time). */
export function parseEvents(text: string, file: string, startMs: number): SimEvent[] {
  const events: SimEvent[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new SimulationInputError(`${file}:${line}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = eventLine.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SimulationInputError(
        `${file}:${line}: ${issue.path.join('.') || 'event'}: ${issue.message}; expected {"at":"+2h","type":"track","event":"...","properties":{}} or {"at":"+1d","type":"identify","traits":{}}`,
      );
    }
    const e = parsed.data;
    let atMs: number;
    if (e.at.startsWith('+')) {
      const parsed = parseDuration(e.at.slice(1));
      if (!parsed.ok) throw new SimulationInputError(`${file}:${line}: at: "${e.at}" is not a duration like +2h or +1d12h`);
      atMs = startMs + parsed.ms;
    } else {
      atMs = Date.parse(e.at);
      if (Number.isNaN(atMs)) throw new SimulationInputError(`${file}:${line}: at: "${e.at}" is neither +<duration> nor an ISO time`);
    }
    // A past event arrives at the start, back-dated: it counts in events.* by its own time.
    const arrival = atMs < startMs ? { arrivalMs: startMs } : {};
    events.push(e.type === 'track' ? { atMs, type: 'track', event: e.event, properties: e.properties, line, ...arrival } : { atMs, type: 'identify', traits: e.traits, line, ...arrival });
  });
  // In order of arrival; a stable sort keeps file order for events arriving at the same moment.
  return events.map((e, i) => ({ e, i })).sort((a, b) => arrivalOf(a.e) - arrivalOf(b.e) || a.i - b.i).map(({ e }) => e);
}

export interface SimulateOptions {
  plan: JourneyPlan;
  profile: Profile;
  events: SimEvent[];
  startMs: number;
  defaultTimezone: string;
  /** Reuse an environment (tests simulate many journeys on one server). */
  env?: TestWorkflowEnvironment;
  /** Frequency caps and unsubscribe links, as the live worker would apply them. */
  delivery?: DeliveryPolicy;
  /** Allowed sending window from configured quiet hours (journeys without their own window). */
  quietHours?: TimeWindow;
  /** Called with the finished workflow, e.g. to record its history for replay tests. */
  onFinished?: (handle: WorkflowHandle) => Promise<void>;
  /** Moves the server clock for this run when several simulations share one server (`unbroken test`). */
  clock?: SimClock;
}

/**
 * Who moves the time-skipping server's clock. Alone, a simulation sleeps the server itself; runs
 * sharing a server must not, or one run's sleep would skip another's timers past its next event.
 */
export interface SimClock {
  /** Resolves once the server clock has reached `serverMs`. */
  until(serverMs: number): Promise<void>;
  /** The run's result, letting the clock skip ahead while it is awaited. */
  result(handle: WorkflowHandle): Promise<unknown>;
}

/**
 * The delivery policy of a preview given none: no caps, and unsubscribe and survey links signed
 * with a throw-away secret, so a survey (which cannot be sent without links) shows its links
 * as they would look, and they work nowhere.
 */
function previewDelivery(): DeliveryPolicy {
  const throwAway = randomBytes(32).toString('hex');
  const base = 'http://localhost:3000';
  return {
    caps: [],
    unsubscribeUrl: unsubscribePolicyUrl(base, throwAway, DEFAULT_UNSUBSCRIBE_TTL_MS),
    shortUnsubscribe: shortUnsubscribeLinks(base, DEFAULT_UNSUBSCRIBE_TTL_MS),
    surveyLink: surveyLinkBuilder(base, throwAway, DEFAULT_SURVEY_LINK_TTL_MS),
  };
}

/** A simulation's worker and what its side effects would have sent. */
export interface SimulationWorker {
  worker: Worker;
  taskQueue: string;
  calls: SimulatedCalls;
}

/** The worker of a simulation: the real workflow code, every channel captured and every `do:` simulated. */
export async function simulationWorker(env: TestWorkflowEnvironment, store: SqliteProfileStore, delivery: DeliveryPolicy | undefined): Promise<SimulationWorker> {
  const taskQueue = `simulate-${randomUUID()}`;
  const calls = new SimulatedCalls();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: await journeyBundle(),
    activities: calls.activities({
      store,
      mailer: captureMailer(),
      mailFrom: 'Unbroken simulation <simulate@localhost>',
      // Nothing leaves the machine: SMS is rendered and reported, webhooks and `do:` requests
      // are built and shown (./simulated-calls), signed with a key that works nowhere.
      sms: { name: 'simulation', send: async () => ({ providerId: 'simulated' }) },
      webhookSecret: randomBytes(32).toString('hex'),
      delivery: delivery ?? previewDelivery(),
    }),
  });
  return { worker, taskQueue, calls };
}

/** A simulation's own store: in memory, holding only the customer. */
export async function simulationStore(profile: Profile): Promise<SqliteProfileStore> {
  const store = new SqliteProfileStore(':memory:');
  const { id, tags, ...traits } = profile;
  await store.identify(id, { ...traits, tags });
  return store;
}

/** A time-skipping server of a simulation's own, unless the caller shares one. */
export async function simulationServer(shared: TestWorkflowEnvironment | undefined): Promise<TestWorkflowEnvironment> {
  return shared ?? createTimeSkippingEnv();
}

/** Runs the simulation and returns what the customer experienced. */
export async function simulate(given: SimulateOptions): Promise<SimulationReport> {
  const opts = { ...given, events: await withDateEntries([given.plan], withScheduleFirings([given.plan], given.events, given.startMs), given) };
  const { plan } = opts;
  const env = await simulationServer(opts.env);
  const store = await simulationStore(opts.profile);
  try {
    const { worker, taskQueue, calls } = await simulationWorker(env, store, opts.delivery);
    const result = await worker.runUntil(drive(env, store, taskQueue, opts));
    const id = opts.profile.id;
    const profile = (await store.getProfile(id)) ?? opts.profile;
    const shown = result.workflowId === undefined ? result.timeline : calls.attach(result.workflowId, result.timeline);
    const timeline = [...shown].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    return { journey: plan.journey, version: plan.version, customer: id, outcome: result.outcome, reason: result.reason, timeline, profile };
  } finally {
    await store.close();
    if (!opts.env) await env.teardown();
  }
}

/**
 * Journey-clock time = server time + offset. Before the first entry the offset is an estimate;
 * once a workflow runs it is anchored to that workflow's own start.
 */
export interface JourneyClock {
  /** Waits until the journey clock reads `atMs` (the server's, or the shared clock's, way). */
  advanceTo(atMs: number): Promise<void>;
  /** Anchors journey time `atMs` to the server time the run started at. */
  anchor(atMs: number, handle: WorkflowHandle): Promise<void>;
}

/** The journey clock of a simulation starting at `startMs`. */
export async function journeyClock(env: TestWorkflowEnvironment, startMs: number, clock: SimClock | undefined): Promise<JourneyClock> {
  let offset = startMs - (await env.currentTimeMs());
  return {
    async advanceTo(atMs) {
      if (clock) return clock.until(atMs - offset);
      const gap = atMs - offset - (await env.currentTimeMs());
      if (gap > 0) await env.sleep(gap);
    },
    async anchor(atMs, handle) {
      offset = atMs - (await handle.describe()).startTime.getTime();
    },
  };
}

/** Whether event `index` enters the journey, and with which trigger key, judged as the router judges it. */
export async function entryOf(
  plan: JourneyPlan,
  events: readonly SimEvent[],
  index: number,
  store: SqliteProfileStore,
  fallback: Profile,
): Promise<{ enters: true; key?: string; occurrence?: string } | { enters: false; keyProblem?: string }> {
  const e = events[index];
  const trigger = triggerOf(e);
  const nowMs = entryMsOf(e);
  // A schedule journey enters on its own firings only, and nothing else enters on them.
  if (isFiringOf(plan, e)) {
    const facts = await factsAt([plan.trigger.members, plan.trigger.where], events, index, store, fallback);
    return audienceTriggerMatches(plan.trigger, trigger, facts, nowMs) ? { enters: true, occurrence: occurrenceOf(e) } : { enters: false };
  }
  if (isFiring(e) || isScheduleTrigger(plan.trigger)) return { enters: false };
  // Likewise a date journey on its own date entries (simulate-dates.ts).
  const occurrence = dateEntryOccurrence(plan, e);
  if (occurrence !== undefined) return { enters: true, occurrence };
  if (isDateEntry(e) || isDateTrigger(plan.trigger)) return { enters: false };
  if (isAudienceTrigger(plan.trigger)) {
    const facts = await factsAt([plan.trigger.members, plan.trigger.where], events, index, store, fallback);
    return { enters: audienceTriggerMatches(plan.trigger, trigger, facts, nowMs) };
  }
  if (e.type !== 'track' || e.event !== plan.trigger.event) return { enters: false };
  const facts = await factsAt([plan.trigger.where], events, index, store, fallback);
  if (!triggerMatches(plan.trigger, trigger, facts.profile as Profile, nowMs, facts.consent, facts.events)) return { enters: false };
  // As the router does: an event without a usable key enters nobody.
  const found = plan.trigger.key ? instanceKeyOf(plan.trigger.key, trigger) : undefined;
  if (found && !found.ok) return { enters: false, keyProblem: found.reason };
  return found ? { enters: true, key: found.key } : { enters: true };
}

/** True when event `index` finds the customer of a run of `plan` outside its audience, and the plan ends such runs (left_audience). */
export async function leavesAudience(plan: JourneyPlan, events: readonly SimEvent[], index: number, store: SqliteProfileStore, fallback: Profile): Promise<boolean> {
  if (!isAudienceTrigger(plan.trigger) || !exitsOnLeavingAudience(plan)) return false;
  const facts = await factsAt([plan.trigger.members], events, index, store, fallback);
  return !audienceMatches(plan.trigger.members, facts, entryMsOf(events[index]));
}

/** The time the router decides entry with for a scripted event: its own, at most a day before its arrival. */
export function entryMsOf(e: SimEvent): number {
  return Date.parse(entryTime(new Date(e.atMs).toISOString(), new Date(arrivalOf(e)).toISOString()));
}

/**
 * What the conditions read about the customer when event `index` is routed: the profile and consent
 * in the store, and events.* over the track events of the file that have arrived, by their own times.
 */
async function factsAt(conditions: readonly (Condition | undefined)[], events: readonly SimEvent[], index: number, store: SqliteProfileStore, fallback: Profile): Promise<AudienceFacts> {
  const customerId = fallback.id;
  const profile = (await store.getProfile(customerId)) ?? fallback;
  const consent = await readConsent(consentReads(...conditions), (channel, category) => store.consent(customerId, channel, category));
  const reads = aggregateReads(...conditions);
  const history = events.slice(0, index + 1).flatMap((s) => (s.type === 'track' ? [{ event: s.event, timestamp: new Date(s.atMs).toISOString() }] : []));
  const aggregates = reads.length === 0 ? {} : aggregatesFromEvents(reads, history, entryMsOf(events[index]));
  return { profile: profile as unknown as Record<string, unknown>, consent, events: aggregates };
}

/** Starts a run of `plan` entered by the event `entry`, under `workflowId`; the journey clock starts when the event arrived. */
export async function startRun(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  opts: { plan: JourneyPlan; customerId: string; entry: SimEvent; key?: string; workflowId: string; defaultTimezone: string; quietHours?: TimeWindow },
): Promise<WorkflowHandle> {
  const trigger = triggerOf(opts.entry);
  const input: JourneyInput = {
    plan: opts.plan,
    customerId: opts.customerId,
    trigger,
    defaultTimezone: opts.defaultTimezone,
    startAt: new Date(arrivalOf(opts.entry)).toISOString(),
    ...(opts.quietHours ? { quietHours: opts.quietHours } : {}),
    ...(opts.key ? { key: opts.key } : {}),
  };
  return env.client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue, workflowId: opts.workflowId });
}

/** The track event a scripted event is, as the run receives it. */
export function trackOf(e: Extract<SimEvent, { type: 'track' }>): TrackEvent {
  return { event: e.event, properties: e.properties, timestamp: new Date(e.atMs).toISOString() };
}

/** A scripted event as the trigger of a run it enters: a track as it is, an identify as the router makes it one. */
export function triggerOf(e: SimEvent): TrackEvent {
  return e.type === 'track' ? trackOf(e) : identifyTrigger({ traits: e.traits, timestamp: new Date(e.atMs).toISOString() });
}

/** The signal that tells a run its customer left the audience, as the router sends it. */
export async function signalLeft(handle: WorkflowHandle, plan: JourneyPlan, cause: SimEvent): Promise<void> {
  await handle.signal(eventSignal, leftAudienceEvent(isAudienceTrigger(plan.trigger) ? plan.trigger.audience : '', triggerOf(cause)));
}

/**
 * As the router does: a run hears only the events its journey listens for (goal, exits,
 * wait_for) whose `where` could hold for it (routing/relevance.ts), and in a keyed journey an
 * event naming another key belongs to another run. `entry` is the event that entered the run.
 */
export function runHears(plan: JourneyPlan, heard: ReadonlySet<string>, run: { key?: string; entry: SimEvent }, e: Extract<SimEvent, { type: 'track' }>): boolean {
  if (e.event === LEFT_AUDIENCE_EVENT || isFiring(e) || isDateEntry(e) || !heard.has(e.event) || !couldMatter(plan, trackOf(e), triggerOf(run.entry))) return false;
  const other = plan.trigger.key ? instanceKeyOf(plan.trigger.key, e) : undefined;
  return !(other?.ok && other.key !== run.key);
}

/** Sends a scripted event to a run as the router would signal it. */
export async function signalRun(handle: WorkflowHandle, e: SimEvent): Promise<void> {
  const timestamp = new Date(e.atMs).toISOString();
  if (e.type === 'identify') await handle.signal(identifySignal, { traits: e.traits, timestamp });
  else await handle.signal(eventSignal, { event: e.event, properties: e.properties, timestamp });
}

async function drive(
  env: TestWorkflowEnvironment,
  store: SqliteProfileStore,
  taskQueue: string,
  opts: SimulateOptions,
): Promise<Omit<JourneyResult, 'outcome'> & { outcome: Outcome | 'not_entered'; workflowId?: string }> {
  const { plan } = opts;
  const customerId = opts.profile.id;
  const clock = await journeyClock(env, opts.startMs, opts.clock);

  // Everything before the entering event only shapes the profile.
  let entryIndex = -1;
  let key: string | undefined;
  let keyProblem: string | undefined;
  for (let i = 0; i < opts.events.length; i++) {
    const e = opts.events[i];
    if (e.type === 'identify') await store.identify(customerId, e.traits);
    const found = await entryOf(plan, opts.events, i, store, opts.profile);
    if (!found.enters) {
      keyProblem ??= found.keyProblem;
      continue;
    }
    key = found.key;
    entryIndex = i;
    break;
  }
  if (entryIndex < 0) {
    return { outcome: 'not_entered', reason: keyProblem ?? notEnteredReason(plan), timeline: [] };
  }
  const entry = opts.events[entryIndex];
  await clock.advanceTo(arrivalOf(entry));
  const workflowId = `${journeyWorkflowId(plan.journey, customerId, key)}:simulation:${randomUUID()}`;
  const handle = await startRun(env, taskQueue, { plan, customerId, entry, key, workflowId, defaultTimezone: opts.defaultTimezone, quietHours: opts.quietHours });
  await clock.anchor(arrivalOf(entry), handle);

  const heard = eventsHeardBy(plan);
  for (let i = entryIndex + 1; i < opts.events.length; i++) {
    const e = opts.events[i];
    await clock.advanceTo(arrivalOf(e));
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') break;
    if (e.type === 'identify') await store.identify(customerId, e.traits);
    // As the router: the event first, then, if it finds the customer outside the audience, that news.
    if (e.type === 'identify' || runHears(plan, heard, { key, entry }, e)) await signalRun(handle, e);
    if (await leavesAudience(plan, opts.events, i, store, opts.profile)) await signalLeft(handle, plan, e);
  }
  const result = (await (opts.clock ? opts.clock.result(handle) : handle.result())) as JourneyResult;
  await opts.onFinished?.(handle);
  return { ...result, workflowId };
}

function notEnteredReason(plan: JourneyPlan): string {
  const t = plan.trigger;
  if (isDateTrigger(t)) return `the customer's ${t.date} never came due (every ${t.every}, at ${t.at}) from the start to a year after the last event`;
  if (isScheduleTrigger(t)) return `no time of the schedule "${t.schedule.cron}" (${t.schedule.timezone}) from the start to the last event found the customer in audience "${t.audience}"`;
  return isAudienceTrigger(t) ? `no event of the file found the customer in audience "${t.audience}"` : `no "${t.event}" event matched the trigger`;
}

/** Renders a report as a timeline for a person to read. */
export function formatReport(r: SimulationReport): string {
  // The customer's own clock beside UTC: quiet hours and send windows are judged by it.
  const zone = isValidTimeZone(r.profile.timezone) ? r.profile.timezone : undefined;
  const local = (at: string) => (zone === undefined ? '' : `  ${localClockText(Date.parse(at), zone)}`);
  const lines = [`${r.journey} (version ${r.version}) for customer ${r.customer}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`];
  if (zone !== undefined) lines.push(`  times in UTC, then the customer's local time (${zone})`);
  for (const t of r.timeline) {
    const { at, step, kind, ...rest } = t;
    let what = '';
    if (kind === 'sent' && rest.channel === 'do') what = `do ${String(rest.activity)}`;
    else if (kind === 'sent') what = `${rest.channel}${rest.subject ? ` "${rest.subject}"` : ''} to ${rest.to ?? '-'} (template ${rest.template ?? '-'})`;
    else if (kind === 'skipped') what = `${rest.template ?? ''} because ${rest.reason}${rest.error ? `: ${rest.error}` : ''}`;
    else if (kind === 'branched') what = `${rest.branch ?? rest.variant}`;
    else if (kind === 'event_received' || kind === 'entered') what = String(rest.event ?? '');
    else if (kind === 'waited') what = rest.reason ? `${rest.reason} until ${rest.until}` : rest.duration_ms !== undefined ? formatDuration(Number(rest.duration_ms)) : '';
    else if (kind === 'profile_updated') what = JSON.stringify(rest.changes ?? rest.traits ?? {});
    else if (rest.reason) what = String(rest.reason);
    if (Array.isArray(rest.passedOver)) what += `; passed over ${(rest.passedOver as { channel: string; reason: string }[]).map((p) => `${p.channel} (${p.reason})`).join(', ')}`;
    lines.push(`  ${at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}${local(at)}  ${kind.padEnd(15)} ${step.padEnd(28)} ${what}`.trimEnd());
    lines.push(...simulatedCallLines(rest).map((line) => `      | ${line}`));
  }
  return lines.join('\n');
}

/** The most of a request body the text timeline prints; `--json` has all of it. */
const SHOWN_BODY_CHARS = 2000;

/** What a `do:` step or webhook would have sent (./simulated-calls), as lines under its entry. */
function simulatedCallLines(entry: { request?: unknown; effect?: unknown }): string[] {
  const lines: string[] = [];
  const request = entry.request as SimulatedRequest | undefined;
  if (request) {
    lines.push(`${request.method} ${request.url}`);
    for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
    const cut = request.body.length > SHOWN_BODY_CHARS;
    lines.push(cut ? `${request.body.slice(0, SHOWN_BODY_CHARS)}… (${request.body.length - SHOWN_BODY_CHARS} more characters in --json)` : request.body);
  }
  if (entry.effect !== undefined) lines.push(`would do: ${JSON.stringify(entry.effect)}`);
  return lines;
}
