import type { ActivityPolicy } from '../compiler/plan';
import { withZeroCounts, type AggregateRead, type EventAggregates } from '../core/audiences';
import type { LiveStore } from '../profiles/store';
import type { ActivityDeps } from './types';

/** Input of `loadAggregates`: whose events, which aggregates the condition reads, and the journey clock's now. */
export interface LoadAggregatesInput {
  customerId: string;
  reads: AggregateRead[];
  /** The run's "now" (its journey clock), so windows like `count_7d` count back from the run's time. */
  nowMs: number;
}

/** Retry/timeout policy of `loadAggregates`: a local read over an index, like `loadProfile`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};

/**
 * Builds `loadAggregates`: the counts and first/last times of the customer's track events that an
 * `if` with `events.*` or `in_audience` reads, by each event's own timestamp. Only plans whose
 * `if` conditions read them call it.
 */
export function createLoadAggregates(deps: ActivityDeps): (input: LoadAggregatesInput) => Promise<EventAggregates> {
  const store = deps.store as Partial<Pick<LiveStore, 'eventAggregates'>>;
  return async function loadAggregates({ customerId, reads, nowMs }: LoadAggregatesInput): Promise<EventAggregates> {
    // A profile store without events (none ships) knows of no event: every count is 0.
    if (typeof store.eventAggregates !== 'function') return withZeroCounts(reads, {});
    return store.eventAggregates.call(deps.store, customerId, reads, nowMs);
  };
}
