import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { profileChanges } from '../../core/index';
import { profileUpdateOutcome } from '../../core/step-outcomes';

/** `update_profile:` — sets, unsets, increments and tags traits; later steps see the result. */
export async function runUpdateProfile(step: StepOf<'update_profile'>, run: JourneyRun): Promise<void> {
  const update = run.activities.builtin('updateProfile');
  const changes = profileChanges(step);
  const worked = await run.work(step.id, (now, riding) =>
    update({
      idempotencyKey: run.keyFor(step.id),
      context: run.context,
      now,
      ...(run.received ? { received: run.received } : {}),
      ...changes,
      ...riding,
    }),
  );
  // The activity rendered the set values; the profile it returns holds what was applied.
  run.profile = worked.result;
  await run.noteOutcome(step.id, profileUpdateOutcome(changes, run.profile), worked);
}
