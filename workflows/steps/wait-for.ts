import { condition } from '@temporalio/workflow';
import { matchesEvent } from '../../core/index';
import type { StepOf } from './types';
import type { JourneyRun, WaitingFor } from '../run/run';

/**
 * `wait_for: { event, within, since }` — branches on whether the event arrives in time. With
 * `since: entry` an event the run received earlier, that no wait took, counts too: then it
 * branches at once, with no timer (plans without it emit exactly the commands they always did).
 */
export async function runWaitFor(step: StepOf<'wait_for'>, run: JourneyRun): Promise<void> {
  // Set before the profile is loaded: an event arriving meanwhile must count.
  const waiting: WaitingFor = { matcher: { event: step.event, where: step.where } };
  run.waitingFor = waiting;
  await run.freshProfile();
  await run.freshConsent(step.where);
  const tookEarlier = step.sinceEntry === true && takeEarlier(waiting, run);
  if (!tookEarlier) await run.beforeWaiting();
  const arrived = tookEarlier || (await condition(() => run.ending !== undefined || waiting.matched !== undefined, step.withinMs));
  run.waitingFor = undefined;
  run.stopIfEnded();
  if (arrived && waiting.matched) {
    run.received = waiting.matched;
    await run.note(step.id, 'branched', { branch: 'on_event', event: waiting.matched.event });
    await run.runSteps(step.onEvent);
  } else {
    await run.note(step.id, 'branched', { branch: 'on_timeout' });
    await run.runSteps(step.onTimeout);
  }
}

/** Takes the oldest kept event that matches, judged with the scope (profile, consent) as the wait starts. */
function takeEarlier(waiting: WaitingFor, run: JourneyRun): boolean {
  const nowMs = run.now();
  const earlier = run.earlierEvents.take((event) => matchesEvent(waiting.matcher, event, run.scope(event), nowMs));
  if (!earlier) return false;
  // One that arrived while the profile loaded is newer: it stays for a later wait.
  if (waiting.matched) run.earlierEvents.keep(waiting.matched);
  waiting.matched = earlier;
  return true;
}
