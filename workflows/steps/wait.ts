import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';

/** `wait: 1h` — a fixed pause. */
export async function runWait(step: StepOf<'wait'>, run: JourneyRun): Promise<void> {
  await run.sleep(step.ms);
  await run.note(step.id, 'waited', { duration_ms: step.ms });
}
