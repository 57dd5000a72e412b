/**
 * Stand-ins for the sweep suites that kill a sweep activity mid-page (test/e2e/audience-sweep,
 * test/e2e/date-trigger): a router whose process dies after a number of entries, and an activity
 * wrapper that notes where its retry resumed from.
 */
import { Context } from '@temporalio/activity';
import type { AudienceEnterer } from '../../activities/audience-sweep';

/**
 * Enters through `router`, except that the entry after the first `n` throws once, as the attempt of
 * a worker killed there fails; `entered` lists the customers entered, in order.
 */
export function routerDyingAfter(n: number, router: AudienceEnterer): { router: AudienceEnterer; entered: string[]; died: () => boolean } {
  const entered: string[] = [];
  let died = false;
  return {
    entered,
    died: () => died,
    router: {
      async enterFromAudience(plan, customerId, trigger, occurrence) {
        if (entered.length === n && !died) {
          died = true;
          throw new Error('worker killed');
        }
        entered.push(customerId);
        return router.enterFromAudience(plan, customerId, trigger, occurrence);
      },
    },
  };
}

/** Wraps an activity so that `resumedFrom()` answers the heartbeat details its first retry started from. */
export function notingResume<I, O>(activity: (input: I) => Promise<O>): { activity: (input: I) => Promise<O>; resumedFrom: () => unknown } {
  let resumedFrom: unknown;
  return {
    resumedFrom: () => resumedFrom,
    activity: (input: I) => {
      if (Context.current().info.attempt > 1) resumedFrom ??= Context.current().info.heartbeatDetails;
      return activity(input);
    },
  };
}
