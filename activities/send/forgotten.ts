import type { PrivacyStore } from '../../profiles/store';
import type { SendAttempt } from './attempt';

/**
 * Whether the address belongs to a forgotten customer (privacy/forget.ts) and nobody stated new
 * consent since: the store holds only a keyed hash of such addresses, so the canonical address is
 * hashed here with the server's key and looked up. New consent is a `subscribed` statement of the
 * sending customer for the channel (and the send's category; any category for transactional
 * mail) recorded after the address was forgotten. A worker without the key (a simulation) has no
 * forgotten list and never skips for it.
 */
export async function forgottenWithoutConsent(attempt: SendAttempt, channel: string, address: string): Promise<boolean> {
  const { delivery, deps, input } = attempt;
  const hash = deps.delivery?.addressHash;
  // Both shipped stores keep the list; a store without it (a test double) has nothing forgotten.
  const store = delivery as Partial<Pick<PrivacyStore, 'forgottenAt' | 'subscribedSince'>> | undefined;
  if (channel === 'webhook' || hash === undefined || typeof store?.forgottenAt !== 'function' || typeof store.subscribedSince !== 'function') return false;
  const forgottenAt = await store.forgottenAt(channel, hash(channel, address));
  if (forgottenAt === undefined) return false;
  const category = attempt.transactional ? undefined : attempt.category;
  return !(await store.subscribedSince(input.context.customerId, channel, category, forgottenAt));
}
