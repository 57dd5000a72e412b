import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { windowWait } from '../pure/schedule';

/** `wait_until: { days, time, timezone }` — waits for the next moment inside a weekly window. */
export async function runWaitUntil(step: StepOf<'wait_until'>, run: JourneyRun): Promise<void> {
  // The customer's timezone may have changed while they were in the journey.
  const profile = await run.freshProfile();
  const { delayMs, zone } = windowWait(run.now(), step.window, profile.timezone, run.input.defaultTimezone);
  const until = run.now() + delayMs;
  await run.sleep(delayMs);
  await run.note(step.id, 'waited', { duration_ms: delayMs, timezone: zone }, until);
}
