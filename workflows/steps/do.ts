import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { resolveExpressions } from '../../core/index';

/** `do: <activity>` — calls a registered activity with the step's `with`, resolved now. */
export async function runDo(step: StepOf<'do'>, run: JourneyRun): Promise<void> {
  await run.freshProfile();
  const call = run.activities.byName(step.activity);
  await call({
    with: resolveExpressions(step.with, run.scope()),
    context: run.context,
    stepId: step.id,
    idempotencyKey: run.keyFor(step.id),
    now: run.iso(),
  });
  await run.note(step.id, 'sent', { channel: 'do', activity: step.activity });
}
