/**
 * Activities proxied with the policy pinned in the plan, so a deployed journey keeps the retry
 * behaviour it was compiled with.
 */
import { ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ActivityPolicy, JourneyPlan } from '../../compiler/plan';
import type { BorrowingActivities, BuiltinActivities } from '../../activities/index';

type AnyActivity = (arg: unknown) => Promise<unknown>;

/** The plan's activities by name, each proxied once on first use. */
export class PlanActivities {
  private readonly proxies = new Map<string, AnyActivity>();

  constructor(private readonly plan: JourneyPlan) {}

  /** A built-in activity with its own signature. */
  builtin<K extends keyof BuiltinActivities>(name: K): BuiltinActivities[K] {
    return this.byName(name) as unknown as BuiltinActivities[K];
  }

  /**
   * A built-in activity run as a local activity: in the worker that runs the workflow, recorded
   * as a marker, with no round trip through the server's task queues. For cheap bookkeeping that
   * rides on a workflow task which happens anyway (a signal's timeline entry).
   */
  local<K extends keyof BuiltinActivities>(name: K): BuiltinActivities[K] {
    return proxied(name, this.plan.activities[name], proxyLocalActivities) as unknown as BuiltinActivities[K];
  }

  /**
   * `recordSteps`, local, under `recordStep`'s policy: plans pin no policy of their own for it
   * (it came later), and it is the same write, several records at a time.
   */
  localBatch(): BorrowingActivities['recordSteps'] {
    return proxied('recordSteps', this.plan.activities.recordStep, proxyLocalActivities) as unknown as BorrowingActivities['recordSteps'];
  }

  /** Any activity the plan has a policy for; a `do:` step's activity is known only by name. */
  byName(name: string): AnyActivity {
    let fn = this.proxies.get(name);
    if (!fn) {
      fn = proxied(name, this.plan.activities[name]);
      this.proxies.set(name, fn);
    }
    return fn;
  }
}

function proxied(name: string, policy: ActivityPolicy | undefined, proxy: typeof proxyActivities = proxyActivities): AnyActivity {
  if (!policy) throw ApplicationFailure.nonRetryable(`plan has no policy for activity "${name}"`, 'PlanError');
  const activities = proxy<Record<string, AnyActivity>>({
    // Plans carry durations as text ("30s"); the compiler checked them.
    startToCloseTimeout: policy.startToCloseTimeout as Duration,
    retry: { ...policy.retry, initialInterval: policy.retry.initialInterval as Duration, maximumInterval: policy.retry.maximumInterval as Duration },
  });
  return activities[name];
}
