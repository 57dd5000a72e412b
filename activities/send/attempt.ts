import { emptyProfile, isTransactional, MARKETING } from '../../core/index';
import type { TemplatePlan } from '../../compiler/plan';
import type { DeliveryStore, Profile, ProfileStore } from '../../profiles/store';
import type { ActivityDeps, PassedOverChannel, SendMessageInput, SendMessageResult } from '../types';

/**
 * Why a send is skipped, every reason there is (the console filters by them); stored in the result
 * and shown in reports. `forgotten`: the address belonged to a forgotten customer and no new
 * consent was stated since (send/forgotten.ts).
 */
export const SKIP_REASONS = [
  'no_address',
  'invalid_address',
  'suppressed',
  'forgotten',
  'unsubscribed',
  'template_error',
  'channel_unavailable',
  'frequency_cap',
  'survey_fatigue',
  'survey_answered',
  'no_channel',
] as const;

/** Why a send was skipped (one of SKIP_REASONS). */
export type SkipReason = (typeof SKIP_REASONS)[number];

/** The store as consent and caps need it, when it offers that (both shipped stores do). */
export function deliveryStoreOf(store: ProfileStore): (ProfileStore & DeliveryStore) | undefined {
  const candidate = store as Partial<DeliveryStore>;
  return typeof candidate.reserveSendSlot === 'function' && typeof candidate.subscription === 'function'
    ? (store as ProfileStore & DeliveryStore)
    : undefined;
}

/** One call of `sendMessage` after its key is claimed: what every stage reads. */
export interface SendAttempt {
  readonly deps: ActivityDeps;
  /** Consent, suppression, caps and short codes; absent for a store without them (none ships). */
  readonly delivery: (ProfileStore & DeliveryStore) | undefined;
  readonly input: SendMessageInput;
  /** The profile as it is now, read once and used for every candidate channel. */
  readonly profile: Profile;
  /** Taken from the step or the first template, so every candidate channel shares one category. */
  readonly category: string;
  readonly transactional: boolean;
}

/** The attempt on the channel it settled on (or skips on), with the channels passed over before it. */
export interface ChannelAttempt extends SendAttempt {
  readonly template: TemplatePlan;
  readonly passedOver: PassedOverChannel[];
}

/**
 * Claims the key under the first template. A key already finished answers with its stored result;
 * a claim still `sending` is a crashed attempt, so the send goes ahead (undefined).
 */
export async function claimSend(store: ProfileStore, input: SendMessageInput): Promise<SendMessageResult | undefined> {
  const { context, idempotencyKey, template } = input;
  const claim = await store.claimMessage({
    idempotencyKey,
    customerId: context.customerId,
    journeyId: context.journeyId,
    stepId: input.stepId,
    channel: template.channel,
    template: template.id,
    status: 'sending',
  });
  if (!claim.claimed && claim.existing && claim.existing.status !== 'sending' && claim.existing.result) {
    return claim.existing.result as SendMessageResult;
  }
  return undefined;
}

/** Reads the fresh profile and settles the category every later check uses. */
export async function openAttempt(
  deps: ActivityDeps,
  delivery: SendAttempt['delivery'],
  input: SendMessageInput,
): Promise<SendAttempt> {
  const { customerId } = input.context;
  const profile: Profile = (await deps.store.getProfile(customerId)) ?? emptyProfile(customerId);
  const category = input.category ?? input.template.category ?? MARKETING;
  return { deps, delivery, input, profile, category, transactional: isTransactional(category) };
}
