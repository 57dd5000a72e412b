import type { ActivityPolicy } from '../compiler/plan';
import { emptyProfile } from '../core/profile';
import type { Profile } from '../profiles/store';
import type { ActivityDeps, LoadProfileInput } from './types';

/** Retry/timeout policy of `loadProfile`: a local read, retried patiently while the store is busy. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};

/** Builds `loadProfile`: the customer's profile as it is now; an unknown customer is an empty profile. */
export function createLoadProfile(deps: ActivityDeps): (input: LoadProfileInput) => Promise<Profile> {
  return async function loadProfile({ customerId }: LoadProfileInput): Promise<Profile> {
    // A journey may start from a track event before any identify; conditions then see no traits.
    return (await deps.store.getProfile(customerId)) ?? emptyProfile(customerId);
  };
}
