/**
 * What the timeline says about a send's or a profile update's outcome, built from the activity's
 * result. One definition for both writers: in runs whose records ride on activities
 * (workflows/run/patches.ts RECORDS_RIDE_ON_ACTIVITIES) the activity stores the record itself and
 * the workflow shows the same entry; in older runs the workflow writes it. Pure, so the workflow
 * bundle may import it.
 */
import { summariseApplied } from './profile';
import type { Profile, ProfileChanges } from '../profiles/store';
import type { SendMessageResult } from '../activities/types';

/** A timeline entry's kind and detail, as the store keeps and the workflow shows it. */
export interface StepOutcome {
  kind: 'sent' | 'skipped' | 'profile_updated';
  detail: Record<string, unknown>;
}

/** A finished send: `sent` with what went out, or `skipped` with why. */
export function sendOutcome(result: Exclude<SendMessageResult, { status: 'deferred' }>): StepOutcome {
  if (result.status === 'sent') {
    const { channel, template, to, subject, body, passedOver } = result;
    return { kind: 'sent', detail: { channel, template, to, subject, body, ...(passedOver ? { passedOver } : {}) } };
  }
  const { status: _status, ...rest } = result;
  return { kind: 'skipped', detail: rest };
}

/** An applied profile change: what the step asked for, `set` values as the profile holds them now. */
export function profileUpdateOutcome(changes: ProfileChanges, after: Profile): StepOutcome {
  return { kind: 'profile_updated', detail: { changes: summariseApplied(changes, after) } };
}
