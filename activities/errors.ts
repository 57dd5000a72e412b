/**
 * Temporal failure types the activities throw as non-retryable `ApplicationFailure`s. Policies
 * list them in `nonRetryableErrorTypes`, and the workflow may match on them.
 */

/** A send that can never succeed (SMTP 5xx, rejected address, HTTP 4xx). */
export const PERMANENT_DELIVERY_ERROR = 'PermanentDeliveryError';

/** A `do:` call whose `with` block does not match the activity's schema. */
export const INVALID_ACTIVITY_INPUT = 'InvalidActivityInput';

/** An `update_profile` that can never apply (missing variable, increment of a non-number). */
export const INVALID_PROFILE_CHANGE = 'InvalidProfileChange';
