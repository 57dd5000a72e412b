/**
 * The shared core: domain values and rules that the workflow, the router, `simulate`, the
 * compiler and the activities all use, defined once. Sandbox-safe (no Node APIs; lint enforces
 * the same rules as for workflows/), so the workflow bundle may import it.
 */
export {
  hasControlCharacter,
  hasLoneSurrogate,
  MAX_EMAIL_LENGTH,
  parseAddress,
  parseEmailAddress,
  parsePhoneNumber,
  type AddressParse,
} from './addresses';
export {
  AGGREGATE_FIELDS,
  aggregateReads,
  aggregatesFromEvents,
  aggregatesOf,
  audienceMatches,
  audienceScope,
  EVENTS_ROOT,
  IN_AUDIENCE,
  LOAD_AGGREGATES_ACTIVITY,
  parseAggregatePath,
  planReadsAggregates,
  withZeroCounts,
  type AggregatePath,
  type AggregateRead,
  type AudienceFacts,
  type EventAggregates,
} from './audiences';
export { isTransactional, MARKETING, TRANSACTIONAL } from './categories';
export {
  CONSENT_ROOT,
  CONSENT_STATES,
  consentAllows,
  consentReads,
  DEFAULT_CONSENT_MODES,
  LOAD_CONSENT_ACTIVITY,
  planReadsConsent,
  readConsent,
  SUBSCRIPTIONS_TRAIT,
  withStatements,
  type ConsentMode,
  type ConsentRead,
  type ConsentState,
  type ConsentStates,
} from './consent';
export { evaluate, readPath, resolveExpressions, resolveUrlExpressions, type Scope } from './conditions';
export { datedWaitTarget, parseDateValue, type DatedWait, type DateTarget, type DateValue } from './dates';
export { matchesEvent, triggerMatches } from './events';
export { instanceKeyHash, instanceKeyOf, MAX_INSTANCE_KEY_LENGTH, type InstanceKey } from './instance-key';
export { emptyProfile, PROFILE_CHANGE_FIELDS, profileChanges, summariseApplied, summariseChanges } from './profile';
export {
  DEFAULT_SURVEY_REMINDERS,
  isSurveyScale,
  isValidScore,
  npsGroup,
  SCALES,
  scaleScores,
  scoreLabels,
  SURVEY_ANSWERED_EVENT,
  SURVEY_ID_PATTERN,
  SURVEY_SCALES,
  SURVEY_VARIABLES,
  surveyTraitNames,
  type NpsGroup,
  type ScoreLabel,
  type SurveyScale,
  type SurveySpec,
} from './surveys';
export { isValidTimeZone, msUntilWindow, zonedTimeToInstant, zoneFor } from './time';
