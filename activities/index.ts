import { ApplicationFailure } from '@temporalio/common';
import type { ActivityCatalog } from '../compiler/journey';
import type { ActivityPolicy } from '../compiler/plan';
import type { Profile } from '../profiles/store';
import { INVALID_ACTIVITY_INPUT } from './errors';
import { httpPost } from './http-post';
import type { ConsentStates } from '../core/consent';
import { createLoadConsent, policy as loadConsentPolicy, type LoadConsentInput } from './load-consent';
import { createLoadAggregates, policy as loadAggregatesPolicy, type LoadAggregatesInput } from './load-aggregates';
import type { EventAggregates } from '../core/audiences';
import { createLoadProfile, policy as loadProfilePolicy } from './load-profile';
import { createRecordStep, createRecordSteps, policy as recordStepPolicy, type RecordStepsInput } from './record-step';
import { createSendMessage, policy as sendMessagePolicy } from './send-message';
import type {
  ActivityDefinition,
  ActivityDeps,
  DoInput,
  LoadProfileInput,
  RecordStepInput,
  SendMessageInput,
  SendMessageResult,
  UpdateProfileInput,
} from './types';
import { createUpdateProfile, policy as updateProfilePolicy } from './update-profile';

export { INVALID_ACTIVITY_INPUT, INVALID_PROFILE_CHANGE, PERMANENT_DELIVERY_ERROR } from './errors';

/**
 * Every activity a journey may call with `do: <name>`. These keys are the only names the
 * compiler accepts; add a line here to make a new activity available.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own `with` type
export const registry: Record<string, ActivityDefinition<any>> = {
  http_post: httpPost,
};

/** The activities the interpreter workflow calls itself; `import type` this from `workflows/`. */
export interface BuiltinActivities {
  sendMessage(input: SendMessageInput): Promise<SendMessageResult>;
  loadProfile(input: LoadProfileInput): Promise<Profile>;
  updateProfile(input: UpdateProfileInput): Promise<Profile>;
  recordStep(input: RecordStepInput): Promise<void>;
  /** Consent states for `consent.*` conditions; pinned only into plans that read them. */
  loadConsent(input: LoadConsentInput): Promise<ConsentStates>;
  /** Event aggregates for `events.*` and `in_audience` in `if` conditions; pinned only into plans that read them. */
  loadAggregates(input: LoadAggregatesInput): Promise<EventAggregates>;
}

/**
 * Built-in activities that came after plans started pinning policies: no plan has one of its own,
 * and adding one would change every journey's version. Each borrows the policy of the activity
 * it batches (`recordSteps` runs under `recordStep`'s).
 */
export interface BorrowingActivities {
  recordSteps(input: RecordStepsInput): Promise<void>;
}

/** Retry/timeout policy of each built-in activity, by the name the worker registers it under. */
export const builtinActivityPolicies: Record<keyof BuiltinActivities, ActivityPolicy> = {
  sendMessage: sendMessagePolicy,
  loadProfile: loadProfilePolicy,
  updateProfile: updateProfilePolicy,
  recordStep: recordStepPolicy,
  loadConsent: loadConsentPolicy,
  loadAggregates: loadAggregatesPolicy,
};

/**
 * What the compiler checks journeys against: the `do:` names with their schemas, and the policies
 * pinned into every plan. Callers of `compileDefinitions` pass this; the compiler never imports it.
 */
export const activityCatalog: ActivityCatalog = { activities: registry, builtinPolicies: builtinActivityPolicies };

/** Any activity function as the Temporal worker registers it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the worker accepts any argument list
export type ActivityFunction = (...args: any[]) => Promise<unknown>;


/** Builds every activity for a worker: the built-ins plus each registry entry under its name. */
export function createActivities(deps: ActivityDeps): Record<string, ActivityFunction> {
  const builtins: BuiltinActivities = {
    sendMessage: createSendMessage(deps),
    loadProfile: createLoadProfile(deps),
    updateProfile: createUpdateProfile(deps),
    recordStep: createRecordStep(deps),
    loadConsent: createLoadConsent(deps),
    loadAggregates: createLoadAggregates(deps),
  };
  const borrowing: BorrowingActivities = { recordSteps: createRecordSteps(deps) };
  const activities: Record<string, ActivityFunction> = { ...builtins, ...borrowing };
  for (const [name, definition] of Object.entries(registry)) {
    if (name in activities) throw new Error(`activity "${name}" in activities/index.ts clashes with a built-in activity`);
    if (definition.name !== name) {
      throw new Error(`activity registered as "${name}" calls itself "${definition.name}": make the two names equal`);
    }
    const run = definition.create(deps);
    activities[name] = async (call: DoInput<unknown>) => {
      // The compiler checked `with` already; checking again guards against a plan built by an
      // older compiler or by hand, and never lets a malformed call reach the side effect.
      const parsed = definition.input.safeParse(call.with);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(with)'}: ${i.message}`).join('; ');
        throw ApplicationFailure.nonRetryable(`do: ${name} got an invalid with: ${problems}`, INVALID_ACTIVITY_INPUT);
      }
      return run({ ...call, with: parsed.data });
    };
  }
  return activities;
}
