import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';

/** `wait: 1h` — a fixed pause. */
export async function runWait(step: StepOf<'wait'>, run: JourneyRun): Promise<void> {
  // Noted at the instant the timer was set for, not at the task that follows it a few ms later.
  const { untilMs, sleepMs } = run.waitEnd(step.ms);
  await run.sleep(sleepMs);
  await run.note(step.id, 'waited', { duration_ms: step.ms }, untilMs);
}
