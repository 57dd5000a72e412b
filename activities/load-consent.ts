import type { ActivityPolicy } from '../compiler/plan';
import { readConsent, type ConsentRead, type ConsentStates } from '../core/consent';
import { consentState } from '../profiles/rules';
import { deliveryStoreOf } from './send-message';
import type { ActivityDeps } from './types';

/** Input of `loadConsent`: whose states, and which channel/category pairs the conditions read. */
export interface LoadConsentInput {
  customerId: string;
  reads: ConsentRead[];
}

/** Retry/timeout policy of `loadConsent`: a local read, like `loadProfile`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};

/**
 * Builds `loadConsent`: what the customer stated about each channel and category a condition
 * reads (`consent.sms.marketing`): subscribed, unsubscribed, or unknown when they said nothing.
 * Only plans whose conditions read consent call it.
 */
export function createLoadConsent(deps: ActivityDeps): (input: LoadConsentInput) => Promise<ConsentStates> {
  const delivery = deliveryStoreOf(deps.store);
  return async function loadConsent({ customerId, reads }: LoadConsentInput): Promise<ConsentStates> {
    // A store without consent rows (none ships) still knows the legacy trait.
    const profile = delivery ? undefined : await deps.store.getProfile(customerId);
    return readConsent(reads, async (channel, category) =>
      delivery ? delivery.consent(customerId, channel, category) : consentState(undefined, profile, category),
    );
  };
}
