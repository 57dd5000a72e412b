import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { profileChanges, summariseApplied } from '../../core/index';

/** `update_profile:` — sets, unsets, increments and tags traits; later steps see the result. */
export async function runUpdateProfile(step: StepOf<'update_profile'>, run: JourneyRun): Promise<void> {
  const update = run.activities.builtin('updateProfile');
  run.profile = await update({
    idempotencyKey: run.keyFor(step.id),
    context: run.context,
    now: run.iso(),
    ...(run.received ? { received: run.received } : {}),
    ...profileChanges(step),
  });
  // The activity rendered the set values; the profile it returns holds what was applied.
  await run.note(step.id, 'profile_updated', { changes: summariseApplied(step, run.profile) });
}
