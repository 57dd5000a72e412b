import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { resolveExpressions } from '../../core/index';
import { dateTarget } from '../pure/schedule';

/** `wait_until: { date, offset }` — waits for a date read from the profile or the trigger. */
export async function runWaitUntilDate(step: StepOf<'wait_until_date'>, run: JourneyRun): Promise<void> {
  await run.freshProfile();
  const target = dateTarget(resolveExpressions(step.date, run.scope()), step.offsetMs);
  if ('invalid' in target) {
    // A customer without the date skips the wait rather than waiting forever or failing.
    await run.note(step.id, 'skipped', { reason: 'invalid_date', value: target.invalid });
    return;
  }
  const delay = Math.max(0, target.untilMs - run.now());
  await run.sleep(delay);
  await run.note(step.id, 'waited', { duration_ms: delay, until: run.iso(target.untilMs) });
}
