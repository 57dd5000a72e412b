/** What a running journey does with signals (events, identifies) and the state query. */
import { patched, setHandler } from '@temporalio/workflow';
import type { TrackEvent } from '../../compiler/plan';
import type { Profile } from '../../profiles/store';
import { matchesEvent, SUBSCRIPTIONS_TRAIT } from '../../core/index';
import { eventSignal, identifySignal, stateQuery } from '../definitions';
import { endingForEvent } from '../pure/ending';
import type { JourneyRun } from './run';
import { SIGNALS_DEDUPED_BY_MESSAGE_ID } from './patches';

/** Connects the run to its signals and query; once it has ended, signals change nothing. */
export function setRunHandlers(run: JourneyRun): void {
  setHandler(eventSignal, (event) => onEvent(run, event));
  setHandler(identifySignal, ({ traits, messageId }) => onIdentify(run, traits, messageId));
  setHandler(stateQuery, () => run.state());
}

/**
 * An event may end the journey (goal, exit_when) or satisfy the `wait_for` in progress; one that
 * does neither is kept for a later `wait_for ... since: entry`.
 */
function onEvent(run: JourneyRun, event: TrackEvent): void {
  if (run.ending || heardBefore(run, event.messageId)) return;
  run.noteSignal('event_received', { event: event.event });
  const scope = run.scope(event);
  const nowMs = run.now();
  run.ending = endingForEvent(run.plan, event, scope, nowMs, run.currentStep);
  if (run.ending) return;
  const waiting = run.waitingFor;
  if (waiting && !waiting.matched && matchesEvent(waiting.matcher, event, scope, nowMs)) waiting.matched = event;
  else run.earlierEvents.keep(event);
}

/**
 * Whether the run has heard a signal of this messageId before: a repeat delivery by the router
 * loop, dropped (patches.ts SIGNALS_DEDUPED_BY_MESSAGE_ID). Signals without one are never repeats.
 */
function heardBefore(run: JourneyRun, messageId: string | undefined): boolean {
  if (messageId === undefined || !patched(SIGNALS_DEDUPED_BY_MESSAGE_ID)) return false;
  if (run.heardMessageIds.has(messageId)) return true;
  run.heardMessageIds.add(messageId);
  return false;
}

/** Later conditions see the new traits at once, before the next step reloads the profile. */
function onIdentify(run: JourneyRun, traits: Record<string, unknown>, messageId: string | undefined): void {
  if (run.ending || heardBefore(run, messageId)) return;
  run.profile = { ...run.profile, ...traits } as Profile;
  run.identifies += 1;
  run.stateConsent(traits[SUBSCRIPTIONS_TRAIT]);
  run.noteSignal('profile_updated', { source: 'identify', traits });
}
