import { condition, patched } from '@temporalio/workflow';
import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { datedWaitTarget, resolveExpressions, zoneFor, type DateTarget } from '../../core/index';
import { DATED_WAITS_FOLLOW_THE_PROFILE } from '../run/patches';
import { dateTarget } from '../pure/schedule';

type Step = StepOf<'wait_until_date'>;

/**
 * `wait_until: { date, offset, time }` — waits for a date read from the profile or the trigger,
 * on the customer's clock, and follows it when it changes while the customer waits.
 */
export async function runWaitUntilDate(step: Step, run: JourneyRun): Promise<void> {
  if (!patched(DATED_WAITS_FOLLOW_THE_PROFILE)) return legacyWaitUntilDate(step, run);
  await run.freshProfile();
  const startedAt = run.now();
  // The instant the last timer was set for, once it fired; undefined until a timer has fired.
  let timerFiredAt: number | undefined;
  for (;;) {
    const { target, zone } = readTarget(step, run);
    if ('invalid' in target) return invalidDate(step, run, target.invalid);
    const now = run.now();
    if (target.untilMs <= now) {
      // Noted at the timer's own instant, not at the task that follows it a few ms later.
      const at = timerFiredAt ?? now;
      const past = timerFiredAt === undefined ? { past: true } : {};
      await run.note(step.id, 'waited', { duration_ms: at - startedAt, until: run.iso(target.untilMs), timezone: zone, ...past }, at);
      return;
    }
    await run.beforeWaiting();
    const identifies = run.identifies;
    const woken = await condition(() => run.ending !== undefined || run.identifies !== identifies, target.untilMs - run.now());
    run.stopIfEnded();
    if (woken) {
      // An identify may have moved the date, or the customer's timezone: read it again.
      timerFiredAt = undefined;
    } else {
      // The store may hold a date no identify brought (another journey's update_profile).
      timerFiredAt = target.untilMs;
      await run.freshProfile();
    }
  }
}

/** The date as the profile (or trigger) gives it now, and the zone a local date is read in. */
function readTarget(step: Step, run: JourneyRun): { target: DateTarget; zone: string } {
  const zone = zoneFor('customer', run.profile.timezone, run.input.defaultTimezone);
  const value = resolveExpressions(step.date, run.scope());
  return { target: datedWaitTarget(value, step, zone), zone };
}

/** A missing or unreadable date ends the journey (no message goes out on a wrong day), or is skipped when the step says so. */
async function invalidDate(step: Step, run: JourneyRun, value: unknown): Promise<void> {
  if (step.onInvalid === 'continue') {
    await run.note(step.id, 'skipped', { reason: 'invalid_date', value, date: step.date });
    return;
  }
  run.end({ outcome: 'exited', step: step.id, reason: 'invalid_date', detail: { value, date: step.date } });
}

/** Runs that reached a dated wait before the patch: the date read once, as UTC, and skipped when invalid. */
async function legacyWaitUntilDate(step: Step, run: JourneyRun): Promise<void> {
  await run.freshProfile();
  const target = dateTarget(resolveExpressions(step.date, run.scope()), step.offsetMs);
  if ('invalid' in target) {
    await run.note(step.id, 'skipped', { reason: 'invalid_date', value: target.invalid });
    return;
  }
  const delay = Math.max(0, target.untilMs - run.now());
  await run.sleep(delay);
  await run.note(step.id, 'waited', { duration_ms: delay, until: run.iso(target.untilMs) });
}
