import { ApplicationFailure } from '@temporalio/common';
import type { ActivityPolicy } from '../compiler/plan';
import { ProfileStoreError } from '../profiles/errors';
import { emptyProfile, profileChanges } from '../core/profile';
import type { Profile } from '../profiles/store';
import { INVALID_PROFILE_CHANGE } from './errors';
import { renderContext, renderValues, TemplateRenderError } from './render';
import { createRidingRecords } from './record-step';
import { profileUpdateOutcome } from '../core/step-outcomes';
import type { ActivityDeps, UpdateProfileInput } from './types';

/** Retry/timeout policy of `updateProfile`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [INVALID_PROFILE_CHANGE],
  },
};

/**
 * Builds `updateProfile`: renders the `set` values through Liquid (so `{{ now }}` and
 * `{{ trigger.properties.x }}` work), then applies the change once per idempotency key.
 */
export function createUpdateProfile(deps: ActivityDeps): (input: UpdateProfileInput) => Promise<Profile> {
  const riding = createRidingRecords(deps);

  return async function updateProfile(input: UpdateProfileInput): Promise<Profile> {
    await riding.before(input);
    const profile = await applied(input);
    await riding.after(input, profileUpdateOutcome(input, profile));
    return profile;
  };

  async function applied(input: UpdateProfileInput): Promise<Profile> {
    const { context } = input;
    try {
      let set = input.set;
      if (set) {
        const profile = (await deps.store.getProfile(context.customerId)) ?? emptyProfile(context.customerId);
        const ctx = renderContext(profile, context, input.now, {}, input.received);
        set = await renderValues(set, ctx, {
          template: '',
          part: 'set',
          label: `update_profile step of journey ${context.journeyId}`,
        });
      }
      return await deps.store.applyChanges(input.idempotencyKey, context.customerId, profileChanges({ ...input, set }));
    } catch (err) {
      // Retrying cannot fix a missing variable or incrementing a text trait: fail the step at once.
      if (err instanceof TemplateRenderError || (err instanceof ProfileStoreError && err.code === 'invalid_change')) {
        throw ApplicationFailure.nonRetryable(err.message, INVALID_PROFILE_CHANGE, { customerId: context.customerId });
      }
      throw err;
    }
  }
}
