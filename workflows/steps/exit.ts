import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';

/** `exit: <reason>` — ends the journey here. */
export async function runExit(step: StepOf<'exit'>, run: JourneyRun): Promise<void> {
  run.end({ outcome: 'exited', step: step.id, reason: step.reason });
}
