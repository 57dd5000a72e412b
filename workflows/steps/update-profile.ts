import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { profileChanges } from '../../core/index';
import { profileUpdateOutcome } from '../../core/step-outcomes';

/** `update_profile:` — sets, unsets, increments and tags traits; later steps see the result. */
export async function runUpdateProfile(step: StepOf<'update_profile'>, run: JourneyRun): Promise<void> {
  const update = run.activities.builtin('updateProfile');
  const now = run.iso();
  const changes = profileChanges(step);
  const riding = run.riding(step.id);
  try {
    run.profile = await update({
      idempotencyKey: run.keyFor(step.id),
      context: run.context,
      now,
      ...(run.received ? { received: run.received } : {}),
      ...changes,
      ...riding,
    });
  } catch (err) {
    run.putBack(riding);
    throw err;
  }
  // The activity rendered the set values; the profile it returns holds what was applied.
  await run.noteOutcome(step.id, profileUpdateOutcome(changes, run.profile), riding, now);
}
