/**
 * What the router needs for journeys that start from an audience (`trigger: { audience: … }`):
 * the facts one routed event lets it decide with, the trigger an identify becomes, and the
 * signal that ends a run whose customer left the audience (`exit_when: - left_audience: true`).
 */
import type { Condition, TrackEvent } from '../compiler/plan';
import type { LiveStore, Profile, StoredEvent } from '../profiles/store';
import { aggregateReads, consentReads, emptyProfile, readConsent, type ConsentStates, type EventAggregates } from '../core/index';
import { AUDIENCE_ENTERED_EVENT, IDENTIFY_TRIGGER_EVENT, LEFT_AUDIENCE_EVENT, type AudienceFacts } from '../core/audiences';

/**
 * The profile, and the consent states and event aggregates the conditions read, of one customer
 * at `nowMs`: read once per routed event for every entry decision it needs (event triggers'
 * `where`, audiences). The aggregates include the event being routed (it was stored before it is
 * routed).
 */
export async function loadFacts(
  store: LiveStore,
  customerId: string,
  conditions: readonly (Condition | undefined)[],
  nowMs: number,
): Promise<AudienceFacts & { profile: Profile; consent: ConsentStates; events: EventAggregates }> {
  const profile = (await store.getProfile(customerId)) ?? emptyProfile(customerId);
  const consent = await readConsent(consentReads(...conditions), (channel, category) => store.consent(customerId, channel, category));
  const reads = aggregateReads(...conditions);
  const events = reads.length === 0 ? {} : await store.eventAggregates(customerId, reads, nowMs);
  return { profile, consent, events };
}

/**
 * The trigger of a run an identify entered: `trigger.event` is `identify` and `trigger.properties`
 * the traits it stated, so templates read `{{ trigger.properties.first_name }}` either way.
 */
export function identifyTrigger(event: Pick<StoredEvent, 'traits' | 'timestamp'> & { messageId?: string }): TrackEvent {
  return { event: IDENTIFY_TRIGGER_EVENT, properties: event.traits ?? {}, timestamp: event.timestamp, ...(event.messageId === undefined ? {} : { messageId: event.messageId }) };
}

/**
 * The event that tells a run its customer left the audience, caused by `cause`. Its messageId is
 * derived from the cause's, so a re-routed cause is dropped by the run as a repeat.
 */
export function leftAudienceEvent(audience: string, cause: TrackEvent): TrackEvent {
  return {
    event: LEFT_AUDIENCE_EVENT,
    properties: { audience },
    timestamp: cause.timestamp,
    ...(cause.messageId === undefined ? {} : { messageId: `${cause.messageId}:${LEFT_AUDIENCE_EVENT}` }),
  };
}

/**
 * The trigger of a run the audience sweep or a broadcast entered at `at`: no event of the
 * customer's caused it, so it names the audience and carries no messageId.
 */
export function audienceEnteredTrigger(audience: string, at: string): TrackEvent {
  return { event: AUDIENCE_ENTERED_EVENT, properties: { audience }, timestamp: at };
}
