import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { evaluate } from '../../core/index';

/** `if:` — runs `then` or `else` by a condition on the profile as it is now. */
export async function runIf(step: StepOf<'if'>, run: JourneyRun): Promise<void> {
  await run.freshProfile();
  await run.freshConsent(step.condition);
  await run.freshAggregates(step.condition);
  const holds = evaluate(step.condition, run.scope(), run.now());
  await run.note(step.id, 'branched', { branch: holds ? 'then' : 'else' });
  await run.runSteps(holds ? step.then : step.else);
}
