/**
 * The interpreter: one deterministic workflow that runs any compiled journey plan.
 *
 * Everything variable comes from the input (the plan is pinned there) or from activities; the
 * workflow itself never reads files, the network or the real clock. Goal and exit events end the
 * journey at once because every wait is a `condition()` that also watches for the end.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ActivityPolicy, EventMatcher, Step, TrackEvent } from '../compiler/plan';
import type { BuiltinActivities } from '../activities/index';
import type { JourneyContext, SendMessageResult } from '../activities/types';
import type { Profile } from '../profiles/store';
import { evaluate, resolveExpressions, type Scope } from '../core/conditions';
import {
  eventSignal,
  identifySignal,
  stateQuery,
  type JourneyInput,
  type JourneyResult,
  type Outcome,
  type TimelineEntry,
} from './definitions';
import { isValidTimeZone, msUntilWindow } from '../core/time';

interface Ending {
  outcome: Outcome;
  step: string;
  reason?: string;
}

/** Patch id: a send whose retries ran out is skipped instead of failing the journey. */
const SEND_RETRIES_EXHAUSTED_SKIPS = 'send-retries-exhausted-skips';

/** Thrown inside the interpreter to unwind to the top once the journey has ended. */
class JourneyEnded extends Error {}

/** 32-bit FNV-1a: a stable, dependency-free hash for split assignment. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export async function journeyWorkflow(input: JourneyInput): Promise<JourneyResult> {
  const { plan, customerId, trigger } = input;
  const info = workflowInfo();
  // Date.now() in a workflow is the task's start time, so this offset is the same on replay.
  const offset = input.startAt ? Date.parse(input.startAt) - Date.now() : 0;
  const now = (): number => Date.now() + offset;
  const iso = (ms: number = now()): string => new Date(ms).toISOString();

  const timeline: TimelineEntry[] = [];
  let currentStep: string | undefined = 'entry';
  let ending: Ending | undefined;
  let profile: Profile = { id: customerId, tags: [] };
  /** The matcher of a `wait_for` in progress and the event that satisfied it. */
  let waitingFor: { matcher: EventMatcher; matched?: TrackEvent } | undefined;

  const enteredAt = iso();
  const context: JourneyContext = {
    workflowId: info.workflowId,
    journeyId: plan.journey,
    version: plan.version,
    customerId,
    enteredAt,
    trigger,
  };
  const journeyRoot = { id: plan.journey, version: plan.version, entered_at: enteredAt };
  const scope = (event?: TrackEvent): Scope => ({
    profile,
    trigger: trigger as unknown as Record<string, unknown>,
    journey: journeyRoot,
    event: event as unknown as Record<string, unknown> | undefined,
  });

  // Activities are proxied with the policy pinned in the plan, so a deployed journey keeps the
  // retry behaviour it was compiled with.
  const proxies = new Map<string, (arg: unknown) => Promise<unknown>>();
  function activity<T>(name: string): (arg: unknown) => Promise<T> {
    let fn = proxies.get(name);
    if (!fn) {
      const policy: ActivityPolicy | undefined = plan.activities[name];
      if (!policy) throw ApplicationFailure.nonRetryable(`plan has no policy for activity "${name}"`, 'PlanError');
      const proxied = proxyActivities<Record<string, (arg: unknown) => Promise<unknown>>>({
        // Plans carry durations as text ("30s"); the compiler checked them.
        startToCloseTimeout: policy.startToCloseTimeout as Duration,
        retry: { ...policy.retry, initialInterval: policy.retry.initialInterval as Duration, maximumInterval: policy.retry.maximumInterval as Duration },
      });
      fn = proxied[name];
      proxies.set(name, fn);
    }
    return fn as (arg: unknown) => Promise<T>;
  }
  const loadProfile = activity<Profile>('loadProfile') as BuiltinActivities['loadProfile'];
  const recordStep = activity<void>('recordStep') as BuiltinActivities['recordStep'];

  // The run id of the first execution is the same for every attempt of this entry and differs
  // between entries of the same customer, so keys never collide across re-entries.
  const keyFor = (stepId: string): string => `${info.workflowId}/${info.firstExecutionRunId}/${plan.version}/${stepId}`;

  async function note(step: string, kind: TimelineEntry['kind'], detail: Record<string, unknown> = {}): Promise<void> {
    const entry: TimelineEntry = { at: iso(), step, kind, ...detail };
    timeline.push(entry);
    await recordStep({ idempotencyKey: `${keyFor(step)}/${kind}/${timeline.length}`, context, stepId: step, kind, at: entry.at, detail });
  }

  function matches(matcher: EventMatcher, event: TrackEvent): boolean {
    return matcher.event === event.event && (!matcher.where || evaluate(matcher.where, scope(event), now()));
  }

  setHandler(eventSignal, (event: TrackEvent) => {
    if (ending) return;
    timeline.push({ at: iso(), step: currentStep ?? 'entry', kind: 'event_received', event: event.event });
    if (plan.goal && matches(plan.goal, event)) {
      ending = { outcome: 'converted', step: currentStep ?? 'goal', reason: event.event };
      return;
    }
    const exit = plan.exitWhen.find((m) => matches(m, event));
    if (exit) {
      ending = { outcome: 'exited', step: currentStep ?? 'exit_when', reason: `exit_when ${event.event}` };
      return;
    }
    if (waitingFor && !waitingFor.matched && matches(waitingFor.matcher, event)) waitingFor.matched = event;
  });

  setHandler(identifySignal, ({ traits }) => {
    if (ending) return;
    profile = { ...profile, ...traits } as Profile;
    timeline.push({ at: iso(), step: currentStep ?? 'entry', kind: 'profile_updated', source: 'identify', traits });
  });

  setHandler(stateQuery, () => ({
    journey: plan.journey,
    version: plan.version,
    customerId,
    currentStep: ending ? undefined : currentStep,
    outcome: ending?.outcome,
    timeline,
  }));

  /** Sleeps on a durable timer that an ending (goal, exit) cuts short. */
  async function sleep(ms: number): Promise<void> {
    if (ms > 0) await condition(() => ending !== undefined, ms);
    if (ending) throw new JourneyEnded();
  }

  async function freshProfile(): Promise<Profile> {
    profile = await loadProfile({ customerId });
    return profile;
  }

  function zoneOf(p: Profile, wanted: string): string {
    if (wanted !== 'customer') return wanted;
    return isValidTimeZone(p.timezone) ? p.timezone : input.defaultTimezone;
  }

  /** The journey's send window, or the configured quiet hours when the journey has none. */
  const sendWindow = plan.sendWindow ?? input.quietHours;

  /** Waits until the send window is open for the customer, unless the message is transactional. */
  async function awaitSendWindow(stepId: string, category: string): Promise<void> {
    if (!sendWindow || category === 'transactional') return;
    const p = await freshProfile();
    const zone = zoneOf(p, sendWindow.timezone);
    const delay = msUntilWindow(now(), sendWindow, zone);
    if (delay > 0) {
      await note(stepId, 'waited', { reason: 'send_window', until: iso(now() + delay), timezone: zone });
      await sleep(delay);
    }
  }

  async function runSend(step: Extract<Step, { kind: 'send' }>): Promise<void> {
    const template = plan.templates[step.template];
    const category = step.category ?? template.category;
    const send = activity<SendMessageResult>('sendMessage') as BuiltinActivities['sendMessage'];
    let result: SendMessageResult;
    for (;;) {
      await awaitSendWindow(step.id, category);
      try {
        result = await send({
          idempotencyKey: keyFor(step.id),
          context,
          stepId: step.id,
          template: category === template.category ? template : { ...template, category },
          to: step.to,
          data: step.data,
          now: iso(),
          ...(step.onCap ? { onCap: step.onCap } : {}),
          ...(plan.frequencyCap ? { journeyCap: plan.frequencyCap } : {}),
        });
      } catch (err) {
        // A failed delivery loses this one message, not the customer's whole journey: a permanent
        // failure at once, a transient one once its retries are used up. Runs that reached the
        // second case before this rule existed keep failing the journey, as their history says.
        const permanent = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
        if (permanent || (err instanceof ActivityFailure && patched(SEND_RETRIES_EXHAUSTED_SKIPS))) {
          await note(step.id, 'skipped', { reason: 'delivery_failed', error: err.cause?.message ?? err.message, template: step.template });
          return;
        }
        throw err;
      }
      if (result.status !== 'deferred') break;
      // Capped with on_cap: defer — wait for the slot, then try again (the window may have closed).
      await note(step.id, 'waited', { reason: 'frequency_cap', until: result.retryAt, template: step.template });
      await sleep(Math.max(0, Date.parse(result.retryAt) - now()));
    }
    if (result.status === 'sent') {
      await note(step.id, 'sent', {
        channel: result.channel,
        template: result.template,
        to: result.to,
        subject: result.subject,
        body: result.body,
      });
    } else {
      const { status: _status, ...rest } = result;
      await note(step.id, 'skipped', rest);
    }
  }

  async function runSteps(steps: Step[]): Promise<void> {
    for (const step of steps) {
      if (ending) throw new JourneyEnded();
      currentStep = step.id;
      await runStep(step);
    }
  }

  async function runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'wait':
        await sleep(step.ms);
        await note(step.id, 'waited', { duration_ms: step.ms });
        return;
      case 'wait_until': {
        const p = await freshProfile();
        const zone = zoneOf(p, step.window.timezone);
        const delay = msUntilWindow(now(), step.window, zone);
        await sleep(delay);
        await note(step.id, 'waited', { duration_ms: delay, timezone: zone });
        return;
      }
      case 'wait_until_date': {
        await freshProfile();
        const raw = resolveExpressions(step.date, scope());
        const target = new Date(raw as string).getTime();
        if (raw === undefined || raw === null || raw === '' || Number.isNaN(target)) {
          await note(step.id, 'skipped', { reason: 'invalid_date', value: raw === undefined ? null : raw });
          return;
        }
        const delay = Math.max(0, target + step.offsetMs - now());
        await sleep(delay);
        await note(step.id, 'waited', { duration_ms: delay, until: iso(target + step.offsetMs) });
        return;
      }
      case 'wait_for': {
        waitingFor = { matcher: { event: step.event, where: step.where } };
        await freshProfile();
        const arrived = await condition(() => ending !== undefined || waitingFor?.matched !== undefined, step.withinMs);
        const matched = waitingFor.matched;
        waitingFor = undefined;
        if (ending) throw new JourneyEnded();
        if (arrived && matched) {
          await note(step.id, 'branched', { branch: 'on_event', event: matched.event });
          await runSteps(step.onEvent);
        } else {
          await note(step.id, 'branched', { branch: 'on_timeout' });
          await runSteps(step.onTimeout);
        }
        return;
      }
      case 'send':
        await runSend(step);
        return;
      case 'update_profile': {
        const update = activity<Profile>('updateProfile') as BuiltinActivities['updateProfile'];
        profile = await update({
          idempotencyKey: keyFor(step.id),
          context,
          now: iso(),
          set: step.set,
          unset: step.unset,
          increment: step.increment,
          addTags: step.addTags,
          removeTags: step.removeTags,
        });
        await note(step.id, 'profile_updated', {
          changes: Object.fromEntries(
            Object.entries({ set: step.set, unset: step.unset, increment: step.increment, add_tags: step.addTags, remove_tags: step.removeTags }).filter(
              ([, v]) => v !== undefined,
            ),
          ),
        });
        return;
      }
      case 'if': {
        await freshProfile();
        const holds = evaluate(step.condition, scope(), now());
        await note(step.id, 'branched', { branch: holds ? 'then' : 'else' });
        await runSteps(holds ? step.then : step.else);
        return;
      }
      case 'split': {
        const bucket = fnv1a(`${plan.journey}:${step.id}:${customerId}`) % 10_000;
        if (bucket < step.holdout * 100) {
          await note(step.id, 'branched', { variant: 'holdout' });
          return;
        }
        const total = step.variants.reduce((sum, v) => sum + v.weight, 0);
        // Spread the non-holdout buckets over the weights so assignment stays stable per customer.
        const position = ((bucket - step.holdout * 100) / (10_000 - step.holdout * 100)) * total;
        let acc = 0;
        const chosen = step.variants.find((v) => (acc += v.weight) > position) ?? step.variants[step.variants.length - 1];
        await note(step.id, 'branched', { variant: chosen.name });
        await runSteps(chosen.steps);
        return;
      }
      case 'do': {
        await freshProfile();
        const call = activity<unknown>(step.activity);
        await call({
          with: resolveExpressions(step.with, scope()),
          context,
          stepId: step.id,
          idempotencyKey: keyFor(step.id),
          now: iso(),
        });
        await note(step.id, 'sent', { channel: 'do', activity: step.activity });
        return;
      }
      case 'exit':
        ending = { outcome: 'exited', step: step.id, reason: step.reason };
        throw new JourneyEnded();
    }
  }

  timeline.push({ at: enteredAt, step: 'entry', kind: 'entered', event: trigger.event });
  await recordStep({ idempotencyKey: `${keyFor('entry')}/entered`, context, stepId: 'entry', kind: 'entered', at: enteredAt });
  try {
    await runSteps(plan.steps);
  } catch (err) {
    if (!(err instanceof JourneyEnded)) {
      const message = err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
      ending = { outcome: 'failed', step: currentStep ?? 'entry', reason: message };
    }
  }
  const end: Ending = ending ?? { outcome: 'completed', step: currentStep ?? 'entry' };
  ending = end;
  await note(end.step, end.outcome, end.reason ? { reason: end.reason } : {});
  return { outcome: end.outcome, reason: end.reason, timeline };
}
