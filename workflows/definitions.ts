/**
 * Names and shapes shared by the workflow and its callers (worker, CLI, API). Defined once here
 * and imported by both sides, so a signal or query name is never spelt twice.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JourneyPlan, TimeWindow, TrackEvent } from '../compiler/plan';
import { instanceKeyHash } from '../core/instance-key';

/** Workflow type name registered by the worker. */
export const JOURNEY_WORKFLOW = 'journeyWorkflow';

export type Outcome = 'completed' | 'converted' | 'exited' | 'failed';

export type TimelineKind =
  | 'entered'
  | 'waited'
  | 'sent'
  | 'skipped'
  | 'profile_updated'
  | 'branched'
  | 'event_received'
  | 'converted'
  | 'exited'
  | 'completed'
  | 'failed';

/** One thing that happened to the customer inside a journey, in journey-clock time. */
export interface TimelineEntry {
  at: string;
  step: string;
  kind: TimelineKind;
  [detail: string]: unknown;
}

export interface JourneyInput {
  plan: JourneyPlan;
  customerId: string;
  /** The track event that entered the customer. */
  trigger: TrackEvent;
  /** The run's canonical trigger key (`trigger.key`); absent for journeys without one. */
  key?: string;
  /** IANA zone used when the customer has no (valid) timezone. */
  defaultTimezone: string;
  /**
   * Runs the journey clock as if the customer entered at this ISO time; the server clock is used
   * unchanged when absent (production). `unbroken simulate --start` uses it to run a journey at
   * another moment, for example just before a DST change.
   */
  startAt?: string;
  /**
   * The allowed sending window from the configured quiet hours (UNBROKEN_QUIET_HOURS), used for
   * journeys without a `send_window` of their own. Absent: no global quiet hours.
   */
  quietHours?: TimeWindow;
  /**
   * `false`: the result leaves the timeline out (empty). The router starts runs so: the store holds
   * every entry already, and the result is the last event of the history. Absent: included, as
   * `simulate` and journey tests read it.
   */
  timelineInResult?: false;
}

export interface JourneyResult {
  outcome: Outcome;
  /** Why the journey ended, for `exited` and `failed`. */
  reason?: string;
  /** Every entry, unless the input said `timelineInResult: false`. */
  timeline: TimelineEntry[];
}

export interface JourneyState {
  journey: string;
  version: string;
  customerId: string;
  /** The run's trigger key, for journeys with `trigger.key`. */
  key?: string;
  /** Step being executed now; undefined once the journey ended. */
  currentStep?: string;
  outcome?: Outcome;
  timeline: TimelineEntry[];
}

/** A track event for a customer already inside the journey (goal, exit_when, wait_for). */
export const eventSignal = defineSignal<[TrackEvent]>('journeyEvent');

/** The customer's profile changed outside the journey (an identify); recorded in the timeline. */
export const identifySignal = defineSignal<[{ traits: Record<string, unknown>; timestamp?: string; messageId?: string }]>(
  'journeyIdentify',
);

/** Where the customer is now and what has happened so far. */
export const stateQuery = defineQuery<JourneyState>('journeyState');

/**
 * Workflow id prefix of one customer's runs of one journey (the store appends the entry number);
 * ids only, never e-mail addresses. A trigger key appears as a short hash (`:k3f9a…`), never as
 * itself: it may be anything the event carries. Without a key the id is what it always was.
 */
export function journeyWorkflowId(journeyId: string, customerId: string, key?: string): string {
  const base = `journey:${journeyId}:${customerId}`;
  return key ? `${base}:k${instanceKeyHash(key)}` : base;
}
