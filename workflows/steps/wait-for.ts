import { condition } from '@temporalio/workflow';
import type { StepOf } from './types';
import type { JourneyRun, WaitingFor } from '../run/run';

/** `wait_for: { event, within }` — branches on whether the event arrives in time. */
export async function runWaitFor(step: StepOf<'wait_for'>, run: JourneyRun): Promise<void> {
  // Set before the profile is loaded: an event arriving meanwhile must count.
  const waiting: WaitingFor = { matcher: { event: step.event, where: step.where } };
  run.waitingFor = waiting;
  await run.freshProfile();
  await run.freshConsent(step.where);
  const arrived = await condition(() => run.ending !== undefined || waiting.matched !== undefined, step.withinMs);
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
