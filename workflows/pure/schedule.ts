/** When a waiting step or a send may go on: windows, dates and the zone they are read in. */
import type { TimeWindow } from '../../compiler/plan';
import { isTransactional, msUntilWindow, zoneFor } from '../../core/index';

/** How long until the window opens for the customer, and the zone it was read in. */
export function windowWait(nowMs: number, window: TimeWindow, profileZone: unknown, defaultZone: string): { delayMs: number; zone: string } {
  const zone = zoneFor(window.timezone, profileZone, defaultZone);
  return { delayMs: msUntilWindow(nowMs, window, zone), zone };
}

/**
 * The window a message of this category must wait for: the journey's own send window, else the
 * configured quiet hours; none for transactional messages, which the customer needs at once.
 */
export function sendWindowFor(journeyWindow: TimeWindow | undefined, quietHours: TimeWindow | undefined, category: string): TimeWindow | undefined {
  const window = journeyWindow ?? quietHours;
  return window && !isTransactional(category) ? window : undefined;
}

/**
 * The instant a `wait_until: { date }` step waited for before dated waits followed the profile
 * (patch dated-waits-follow-the-profile): the date read as the runtime reads it (a date without a
 * time is UTC midnight) plus the offset; `invalid` with the value found (null for none). Kept
 * unchanged for runs that replay that history; new runs use `datedWaitTarget` in core/dates.ts.
 */
export function dateTarget(resolved: unknown, offsetMs: number): { untilMs: number } | { invalid: unknown } {
  const target = new Date(resolved as string).getTime();
  if (resolved === undefined || resolved === null || resolved === '' || Number.isNaN(target)) {
    return { invalid: resolved === undefined ? null : resolved };
  }
  return { untilMs: target + offsetMs };
}
