/**
 * The unified customer profile store. One interface; SQLite is the default implementation.
 * Every method is async so a networked store (PostgreSQL) fits the same shape.
 */
import type { ConsentState } from '../core/consent';
import type { AggregateRead, AudienceFacts, EventAggregates } from '../core/audiences';
import type { Condition } from '../compiler/plan';
import type { SplitCount } from '../core/splits';

/** Who matches an audience now: how many, and the first ids in id order (`unbroken audience`). */
export interface AudienceListing {
  count: number;
  sample: string[];
}

/** Which page of an audience `audiencePage` reads (keyset by customer id). */
export interface AudiencePageOptions {
  nowMs: number;
  /** The last customer id of the previous page; '' for the first. */
  after: string;
  /** Most customers in the page. */
  limit: number;
  /** Further conditions whose facts are loaded with the audience's (a trigger's `where`). */
  alsoReads?: readonly (Condition | undefined)[];
  /**
   * Leaves out customers inside this journey now; with `ever` also those who were in it at any
   * time, with `enteredSince` (ISO) those who entered it after that time.
   */
  outside?: { journeyId: string; ever: boolean; enteredSince?: string };
}

/** Customers who may match an audience, with what it reads about them; `next` is the cursor, absent on the last page. */
export interface AudiencePage {
  candidates: { id: string; facts: AudienceFacts }[];
  next?: string;
}

/** Which page of a date journey's candidates `datePage` reads (keyset by customer id). */
export interface DatePageOptions {
  journeyId: string;
  /** The date's path, `profile.<trait>` (nested traits by dots). */
  path: string;
  every: 'year' | 'once';
  /** What the date's text may read as: its month-day (`12-03`) for a yearly date, its day (`2026-12-03`) for once (core/date-triggers.ts dueCandidates). */
  days: readonly string[];
  /** Occurrences whose runs each candidate reports in `done`. */
  occurrences: readonly string[];
  nowMs: number;
  /** The last customer id of the previous page; '' for the first. */
  after: string;
  limit: number;
  /** Conditions whose facts are loaded (a trigger's `where`). */
  alsoReads?: readonly (Condition | undefined)[];
}

/** Customers whose date may be due, not inside the journey, with their facts and the occurrences they ran already. */
export interface DatePage {
  candidates: { id: string; facts: AudienceFacts; done: string[] }[];
  next?: string;
}

/** A customer as journeys see it: traits flattened beside the system fields. */
export interface Profile {
  id: string;
  email?: string;
  phone?: string;
  timezone?: string;
  tags: string[];
  [trait: string]: unknown;
}

export interface ProfileChanges {
  set?: Record<string, unknown>;
  unset?: string[];
  increment?: Record<string, number>;
  addTags?: string[];
  removeTags?: string[];
}

export interface StepRecord {
  idempotencyKey: string;
  workflowId: string;
  journeyId: string;
  version: string;
  customerId: string;
  stepId: string;
  kind: string;
  at: string;
  detail?: Record<string, unknown>;
}

export interface MessageRecord {
  idempotencyKey: string;
  customerId: string;
  journeyId: string;
  stepId: string;
  channel: string;
  template: string;
  status: 'sending' | 'sent' | 'skipped';
  /** The result handed back to the workflow once the send finished. */
  result?: Record<string, unknown>;
}

/** Where a page of the messages list starts: after the message with this time and sequence number. */
export interface MessageCursor {
  createdAt: string;
  seq: number;
}

/** Which messages the console's list shows: all of them, or those of one journey, channel, status or skip reason. */
export interface MessagesQuery {
  journeyId?: string;
  channel?: string;
  status?: MessageRecord['status'];
  /** A skip's `result.reason`; only skipped messages have one. */
  reason?: string;
  /** Only messages older than this one (the next page). */
  before?: MessageCursor;
  limit: number;
}

/** A message as the console lists it: the record, when it was claimed, and its place in the order. */
export interface ListedMessage extends MessageRecord {
  createdAt: string;
  seq: number;
}

export interface ProfileStore {
  /** Returns the profile, or undefined when the customer is unknown. */
  getProfile(id: string): Promise<Profile | undefined>;
  /**
   * Merges traits into the profile, creating it if needed (an `identify`). A `subscriptions` trait
   * becomes consent statements made at `stated.at` (default: now; see core/event-time.ts
   * happenedAt), each kept in the consent history once per `stated.messageId`.
   */
  identify(id: string, traits: Record<string, unknown>, stated?: StatementOrigin): Promise<Profile>;
  /**
   * Applies changes once per idempotency key, atomically: a second call with the same key
   * changes nothing and returns the current profile.
   */
  applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile>;
  /**
   * Stores a step record; a second record with the same key is ignored. A live store also moves
   * the enrolment with that workflow id to the step and, for an ending kind (completed,
   * converted, exited, failed), ends it with that outcome, in the same transaction.
   */
  recordStep(record: StepRecord): Promise<void>;
  /** Several records of one run, in order, each as `recordStep` stores it, in one transaction. */
  recordSteps(records: readonly StepRecord[]): Promise<void>;
  stepsFor(workflowId: string): Promise<StepRecord[]>;
  /**
   * Claims a message slot under its idempotency key. Returns the existing record when the key
   * was already claimed (then the caller must not send again unless its status is `sending`).
   */
  claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }>;
  /** Marks a claimed message finished and stores its result. */
  finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void>;
  /** Releases a claim whose send failed, so a retry may claim it again. */
  releaseMessage(idempotencyKey: string): Promise<void>;
  messagesFor(customerId: string): Promise<MessageRecord[]>;
  close(): Promise<void>;
}

// --- the live system: events, identities, deployed journeys, enrolments --------------------

/** A stored track or identify call, after identity resolution. */
export interface StoredEvent {
  /** The sender's messageId (or one derived by the API); unique across all events. */
  messageId: string;
  type: 'track' | 'identify';
  /** Canonical customer id the event belongs to. */
  customerId: string;
  userId?: string;
  anonymousId?: string;
  /** Event name, for track. */
  event?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** When it happened (ISO), as the sender said or as received. */
  timestamp: string;
  receivedAt: string;
  /** When routing finished (set by `markEventRouted`); ignored by `recordEvent`. */
  routedAt?: string;
}

/**
 * Outcome of recording an event under its messageId: `new`, or `duplicate` when the messageId is
 * stored already, routed or not (an accepted event is routed by the router loop, once).
 */
export type RecordEventResult = { status: 'new' } | { status: 'duplicate' };

/** One event to accept, with an identify's traits. */
export interface EventToRecord {
  event: StoredEvent;
  identify?: IdentifyOnAccept;
}

/** The traits of an identify, applied in the same transaction that stores the event. */
export interface IdentifyOnAccept {
  traits: Record<string, unknown>;
  stated?: StatementOrigin;
}

/** What the router loop asks for: a page of customers with unrouted events received before a time. */
export interface UnroutedClaim {
  /** Only events received before this (ISO); absent: every stored event. */
  receivedBefore?: string;
  /** How long the claimed events are the caller's, from now. */
  leaseMs: number;
  /** At most this many customers… */
  customers: number;
  /** …and this many events of each. */
  eventsPerCustomer: number;
}

/** An event set aside after its routing failed `attempts` times; `reason` is the last error. */
export interface DeadLetter {
  event: StoredEvent;
  attempts: number;
  deadAt: string;
  reason: string;
}

/** One published version of a journey. */
export interface DeployedJourney {
  journeyId: string;
  version: string;
  /** The compiled plan, as JSON. */
  plan: unknown;
  deployedAt: string;
  paused: boolean;
}

export interface DeployResult {
  /** Journeys whose version changed (or that are new), with the new version. */
  published: { journeyId: string; version: string; previous?: string }[];
  unchanged: string[];
  /**
   * Journeys that were live but are not in the deploy (their file was removed), with the version
   * that was live: new entries stopped; customers inside finish on the version they entered with.
   * Only with `withdrawAbsent`.
   */
  withdrawn?: { journeyId: string; version: string }[];
}

/** How many customers are inside one version of a journey, by the latest step their runs recorded. */
export interface ActiveAtStep {
  journeyId: string;
  version: string;
  /** The step of each run's latest record (`current_step`); absent while a run has recorded none. */
  stepId?: string;
  /** The kind of that record: `sent`, `waited`, `branched`, … for a step done; an event's kind for the step in progress. */
  lastKind?: string;
  customers: number;
}

/**
 * How far one broadcast of an audience or schedule journey has come: `unbroken trigger`, or a
 * firing of the journey's schedule. Named by its journey and the time it began.
 */
export interface BroadcastProgress {
  journeyId: string;
  /** When its audience was decided (the broadcast's start). */
  beganAt: string;
  /** A schedule journey's occurrence it enrols. */
  occurrence?: string;
  /** Customers found in the audience so far. */
  matched: number;
  /** Customers entered so far (the others were inside, or kept out by the re-entry rule). */
  entered: number;
  /** Set once the audience has been gone through, or the broadcast stopped. */
  finishedAt?: string;
  /** Why it stopped before the end: the journey was paused or redeployed meanwhile. */
  stopped?: string;
}

/** A customer's entry into a journey: one workflow run. */
export interface Enrolment {
  journeyId: string;
  customerId: string;
  /**
   * The run's trigger key (canonical text, see `trigger.key`); absent for journeys without one.
   * Runs are one per journey, customer and key.
   */
  instanceKey?: string;
  /** 1 for the first entry, 2 for the second … (counted over all keys of the customer) */
  entry: number;
  workflowId: string;
  version: string;
  enteredAt: string;
  /** Workflow input without the plan (the version names it), kept so an event racing the start can signal-with-start it. */
  input: unknown;
  endedAt?: string;
  outcome?: string;
  /** Last step recorded for this run. */
  currentStep?: string;
}

export type EnrolDecision =
  | { enrolled: true; enrolment: Enrolment }
  | { enrolled: false; reason: 'active' | 're_entry_never' | 're_entry_cooldown' | 'paused' | 'occurrence_done'; until?: string };

/** Per-step counts for `unbroken stats`. */
export interface JourneyStats {
  journeyId: string;
  entered: number;
  active: number;
  outcomes: Record<string, number>;
  steps: { stepId: string; kind: string; count: number; reasons?: Record<string, number> }[];
}

/** One journey's numbers on the console's journeys page, over all its versions. */
export interface JourneyOverview {
  journeyId: string;
  entered: { today: number; week: number; all: number };
  /** Customers inside now (runs not ended). */
  active: number;
  /** Ended runs by outcome (completed, converted, exited, failed, …). */
  outcomes: Record<string, number>;
  /** Step records of kind `sent` and `skipped`. */
  sent: number;
  skipped: number;
}

/** What one step's box on a journey's console page says. */
export interface StepNumbers {
  stepId: string;
  /** Runs with any record of this step, each counted once. */
  passed: number;
  /** Runs not ended whose latest record is of this step. */
  waiting: number;
  /** Records of kind `sent` (a send, or a `do` step's call). */
  sent: number;
  /** Records of kind `skipped`, by their `reason` (`unknown` when a record has none). */
  skipped: Record<string, number>;
}

/** One journey's numbers on its console page, over all its versions or one. */
export interface JourneyPageNumbers {
  journeyId: string;
  /** Every deployed version, newest first. Empty for a journey that was never deployed. */
  versions: { version: string; deployedAt: string }[];
  entered: number;
  /** Runs not ended. */
  active: number;
  /** Ended runs by outcome. */
  outcomes: Record<string, number>;
  /** Steps with any record or anyone waiting, by step id order. */
  steps: StepNumbers[];
  /** Runs ended on each UTC day (`YYYY-MM-DD`) since the asked time, by outcome; only days with any, oldest first. */
  days: { day: string; outcomes: Record<string, number> }[];
}

/** One survey message that went out (a reminder is another ask in the same run). */
export interface SurveyAsk {
  surveyId: string;
  customerId: string;
  journeyId: string;
  workflowId: string;
  stepId: string;
  askedAt: string;
}

/** The one answer of a run to a survey, as it stands (changed within the grace period, or final). */
export interface SurveyAnswer {
  surveyId: string;
  customerId: string;
  journeyId: string;
  workflowId: string;
  stepId: string;
  scale: string;
  score: number;
  comment?: string;
  firstAnsweredAt: string;
  answeredAt: string;
}

/** Which surveys `surveyReport` reads; every filter is optional. */
export interface SurveyReportQuery {
  surveyId?: string;
  journeyId?: string;
  /** Only runs first asked (or, never asked, first answered) at or after this ISO time. */
  since?: string;
}

/** The rows `unbroken feedback` computes its periods from, oldest first. */
export interface SurveyReport {
  asks: SurveyAsk[];
  answers: SurveyAnswer[];
}

/** An answer as a customer gives it through a survey link: the link's claims, a score, maybe a comment, and when. */
export type SurveyAnswerInput = Omit<SurveyAnswer, 'firstAnsweredAt' | 'answeredAt'> & { at: string };

/**
 * What `recordSurveyAnswer` did: `recorded` the run's first answer; `changed` it within the
 * grace period; `unchanged` (the same score and comment again, at any time); `final` (a different
 * one after the grace period: the answer stands). `answer` is the answer as it now stands.
 */
export interface RecordSurveyAnswerResult {
  status: 'recorded' | 'changed' | 'unchanged' | 'final';
  answer: SurveyAnswer;
}

/**
 * What the live system needs on top of ProfileStore (including consent and caps, DeliveryStore).
 * SQLite and PostgreSQL implement all of it, and one shared test suite runs against each.
 */
export interface LiveStore extends ProfileStore, DeliveryStore, PrivacyStore {
  /**
   * Resolves the canonical customer id for a userId/anonymousId pair. When both are given and
   * the anonymous id was used before, links it to the user and merges the anonymous profile
   * (traits the user profile lacks, tags, email/phone/timezone if missing) and its events into
   * the user's, in one transaction; messages and step records stay where they were (history).
   * A userId alone resolves to itself; an anonymousId alone to its linked user, else itself.
   * The first link of an anonymous id wins: a later pair naming another user resolves to that
   * user but does not move the link. After linking, getProfile/identify/applyChanges on the
   * anonymous id act on the user's profile. Rejects `invalid_identity` when neither is given.
   */
  resolveCustomer(ids: { userId?: string; anonymousId?: string }): Promise<string>;
  /**
   * Accepts an event: stores it once under its messageId, unrouted and unleased, so the router
   * loop claims it (`claimUnroutedEvents`). A redelivery of a stored messageId changes nothing
   * and answers `duplicate`. With `identify`, its traits are applied to the customer in the same
   * transaction: an accepted identify is applied exactly once, a refused one not at all.
   */
  recordEvent(event: StoredEvent, identify?: IdentifyOnAccept): Promise<RecordEventResult>;
  /**
   * Accepts several events as `recordEvent` accepts each, all or none, in one transaction and in
   * the order given (a customer's events keep that order). Answers per event; a messageId met
   * again within the call is a duplicate after its first.
   */
  recordEvents(events: readonly EventToRecord[]): Promise<RecordEventResult[]>;
  /** Marks an event routed: later deliveries of the same messageId are duplicates. */
  markEventRouted(messageId: string): Promise<void>;
  /** Gives up the routing lease of an unrouted event (its routing failed), so a router loop may take it again. */
  releaseEvent(messageId: string): Promise<void>;
  /**
   * Claims unrouted events for a router loop (routing/loop.ts), customer by customer: per customer the oldest
   * events (by timestamp, then arrival), each leased to the caller for `leaseMs`. A customer
   * with an event whose lease someone else holds is left out, so one customer's events are
   * routed by one router at a time, in order. Safe when several processes claim at once.
   */
  claimUnroutedEvents(claim: UnroutedClaim): Promise<StoredEvent[][]>;
  /** Events stored but not yet marked routed nor set aside, and when the oldest of them was received (for metrics). */
  routingBacklog(): Promise<{ events: number; oldestReceivedAt?: string }>;
  /**
   * Counts a failed routing attempt of an unrouted event. Below `maxAttempts` the event stays in
   * the backlog, leased for `retryAfterMs` so its customer is left out of claims until then; at
   * `maxAttempts` it is set aside (dead-lettered) with `reason`: it leaves the backlog, later
   * deliveries of its messageId are acknowledged as duplicates, and the customer's next events
   * flow. Only failures that are not an outage may be counted (routing/router.ts `isUnavailable`).
   */
  recordRouteFailure(messageId: string, failure: { reason: string; maxAttempts: number; retryAfterMs: number }): Promise<{ attempts: number; dead: boolean }>;
  /** Dead-lettered events, oldest set aside first (at most `limit`, default 100), and how many there are. */
  deadLetters(opts?: { limit?: number }): Promise<{ total: number; events: DeadLetter[] }>;
  /**
   * Puts dead-lettered events (all, or those named) back into the routing backlog with their
   * attempts reset, for the router loop to route; answers how many went back.
   */
  retryDeadLetters(messageIds?: readonly string[]): Promise<number>;
  eventsFor(customerId: string): Promise<StoredEvent[]>;
  /**
   * The event aggregates `reads` names (core/audiences.ts) for one customer at `nowMs`, by each
   * event's own timestamp, zero counts filled in: what `in_audience` and `events.*` read.
   */
  eventAggregates(customerId: string, reads: readonly AggregateRead[], nowMs: number): Promise<EventAggregates>;
  /** Everyone who matches an audience's compiled condition at `nowMs`: how many, and the first `sampleSize` ids. */
  audience(condition: Condition, opts: { nowMs: number; sampleSize: number }): Promise<AudienceListing>;
  /**
   * One page of the customers who may match `condition` at `nowMs`, in id order, narrowed in SQL,
   * with their facts; the caller decides each with core/audiences.ts (the audience sweep).
   */
  audiencePage(condition: Condition, opts: AudiencePageOptions): Promise<AudiencePage>;
  /**
   * One page of a date journey's candidates in id order: customers whose date trait reads as one
   * of `opts.days` (narrowed in SQL), not inside the journey now; the caller decides each with
   * core/date-triggers.ts (the date sweep).
   */
  datePage(opts: DatePageOptions): Promise<DatePage>;

  /**
   * Publishes every given journey whose version differs from the deployed one, all in one
   * transaction (all or nothing). Pause state is kept across versions. With `withdrawAbsent` the
   * list is the whole set: a live journey missing from it is withdrawn (no longer deployed, so
   * nobody new enters; its versions stay, so runs inside finish on theirs).
   */
  deployJourneys(plans: { journeyId: string; version: string; plan: unknown }[], at: string, opts?: { withdrawAbsent?: boolean }): Promise<DeployResult>;
  /** The current version of every deployed journey. */
  deployedJourneys(): Promise<DeployedJourney[]>;
  /**
   * Any deployed version of a journey (running customers keep the one they entered with), also of
   * a withdrawn journey, which then reads as paused.
   */
  journeyVersion(journeyId: string, version: string): Promise<DeployedJourney | undefined>;
  /** Customers inside each journey (active enrolments), by version and current step; `journeyId` limits it to one journey. */
  activeAtSteps(journeyId?: string): Promise<ActiveAtStep[]>;
  /**
   * Stops or restarts new entries; returns false when the journey was never deployed. Runs
   * already inside are not affected.
   */
  setPaused(journeyId: string, paused: boolean): Promise<boolean>;

  /**
   * Decides atomically whether the customer may enter now under the journey's re-entry rule
   * (`never`: only once ever; `always`: whenever not inside; cool-down: not inside and the last
   * entry at least `ms` ago) and, if so, creates the enrolment with workflow id
   * `<workflowIdPrefix>:<entry>`. A customer already inside is never entered twice. With a `key`
   * (trigger.key) "inside" and the re-entry rule look only at runs with the same key; entry
   * numbers still count every run of the customer in the journey. Checks
   * run in order: paused, active, re-entry rule. History counts the runs of every id linked to
   * the customer (a run entered anonymously counts after the merge). A journey that was never
   * deployed is treated as not paused. Safe under concurrent calls from several processes.
   */
  tryEnrol(args: {
    journeyId: string;
    customerId: string;
    version: string;
    reEntry: { mode: 'never' } | { mode: 'always' } | { mode: 'cooldown'; ms: number };
    at: string;
    workflowIdPrefix: string;
    input: unknown;
    /** Canonical trigger key; absent or empty for journeys without `trigger.key`. */
    key?: string;
    /**
     * The occurrence a schedule or date journey enters for (a firing's time, a year, a date),
     * kept as the run's key: a customer enters once per occurrence, and the re-entry rule applies
     * across occurrences (profiles/rules.ts decideEntry). Never beside `key`.
     */
    occurrence?: string;
  }): Promise<EnrolDecision>;
  /** Runs not yet ended for the customer, including runs entered under a linked anonymous id (to signal them). */
  activeEnrolments(customerId: string): Promise<Enrolment[]>;
  /**
   * Runs of a journey not yet ended, of customers after `afterCustomer` in id order, at most
   * `limit` (the sweep goes through them in pages). A journey without a trigger key has one such
   * run per customer, so the customer id is the page's cursor.
   */
  activeRunsPage(journeyId: string, afterCustomer: string, limit: number): Promise<Enrolment[]>;
  /** Every run of the customer (and its linked anonymous ids), newest first, with its current step and outcome. */
  enrolmentsFor(customerId: string): Promise<Enrolment[]>;
  /**
   * Per-step counts of a journey over all its versions: entered and active runs, outcomes of
   * ended runs, and each (step, kind) in order of first appearance, with reasons for `skipped`.
   */
  journeyStats(journeyId: string): Promise<JourneyStats>;
  /** Writes how far a broadcast has come; a later write of the same broadcast replaces the earlier. */
  recordBroadcast(progress: BroadcastProgress): Promise<void>;
  /** The journey's broadcast (`unbroken trigger`, or a firing of its schedule) that began last, if any. */
  latestBroadcast(journeyId: string): Promise<BroadcastProgress | undefined>;
  /**
   * Runs that reached each arm of each split of a journey (over all versions, or one), and how
   * many of them converted; `splitReports` (core/splits.ts) turns them, with the plan the caller
   * already holds, into rates, intervals, lift and verdicts.
   */
  splitCounts(journeyId: string, version?: string): Promise<SplitCount[]>;
  /** The console's journeys page: for each journey asked about, in that order, entries since `today` and `week` (ISO) and in all, customers inside, outcomes, sends and skips. */
  journeyOverview(journeyIds: readonly string[], since: { today: string; week: string }): Promise<JourneyOverview[]>;
  /**
   * The console's messages list: the newest messages matching `query`, newest first (by creation
   * time, then insertion order), at most `limit`, older than `query.before` when given; and the
   * cursor of the next (older) page, absent on the last page.
   */
  messagesPage(query: MessagesQuery): Promise<{ messages: ListedMessage[]; older?: MessageCursor }>;
  /**
   * The console's page of one journey (over all versions, or `version`): entries, outcomes, each
   * step's runs passed and waiting with sends and skips by reason, and runs ended per UTC day
   * since `since` (ISO); with every deployed version of the journey.
   */
  journeyPage(journeyId: string, opts: { version?: string; since: string }): Promise<JourneyPageNumbers>;
  /** Canonical ids of customers whose id, linked anonymous id, email or phone (compared canonically) is `term`; at most `limit`. */
  findCustomers(term: string, limit: number): Promise<string[]>;
  /**
   * Survey asks and answers for reading the scores, oldest first. `since` keeps whole runs: the
   * asks and the answer of every run whose first ask (or, without an ask, first answer) is at or
   * after it, so a response rate never counts an answer whose ask it left out.
   */
  surveyReport(query: SurveyReportQuery): Promise<SurveyReport>;
  /**
   * Records a run's answer to a survey, one per (workflowId, surveyId), in one transaction: the
   * first inserts; until `graceMs` after the first, another score or comment replaces it (an
   * absent comment keeps the one given before); after that the first stands. Safe when several
   * answers of one run arrive at once: one is first, the others change or repeat it.
   */
  recordSurveyAnswer(input: SurveyAnswerInput, graceMs: number): Promise<RecordSurveyAnswerResult>;
  /** A run's answer to a survey as it stands, or undefined when there is none. */
  surveyAnswer(workflowId: string, surveyId: string): Promise<SurveyAnswer | undefined>;
}

// --- delivery: consent, suppression, frequency caps ------------------------------------------

export type SubscriptionStatus = 'subscribed' | 'unsubscribed';

export interface CapCheck {
  /** The send's idempotency key: one slot per key, however often it is retried. */
  idempotencyKey: string;
  customerId: string;
  channel: string;
  category: string;
  journeyId: string;
  at: string;
  /** Every cap that applies (global ones plus the journey's own, with channel/category set). */
  caps: { max: number; windowMs: number; journeyId?: string; perKey?: boolean }[];
  /** The sending run's trigger key; a `perKey` cap counts only slots of the same key. */
  instanceKey?: string;
}

export type CapDecision = { allowed: true } | { allowed: false; retryAt: string };

/** A survey about to go out, as the fatigue rule judges it (see `reserveSurveyAsk`). */
export interface SurveyAskCheck {
  /** The send's idempotency key: one ask per key, however often it is retried. */
  idempotencyKey: string;
  customerId: string;
  surveyId: string;
  journeyId: string;
  /** The run asking; asks of the same survey in the same run are its reminders. */
  workflowId: string;
  stepId: string;
  at: string;
  /** How far back another survey to the customer refuses this one (UNBROKEN_SURVEY_FATIGUE); 0: no such rule. */
  fatigueMs: number;
  /** How many times this run may ask the same survey again (the journey's `survey_reminders`, default 1). */
  reminders: number;
}

/**
 * The fatigue rule's answer: allowed (and recorded), or refused because another survey reached
 * the customer within the window (`fatigue`: which, and when) or because this run used its reminders.
 */
export type SurveyAskDecision =
  | { allowed: true }
  /** This run's survey was answered already: a reminder would ask someone who has answered. */
  | { allowed: false; rule: 'answered'; answeredAt: string }
  | { allowed: false; rule: 'fatigue'; previous: { surveyId: string; journeyId: string; askedAt: string } }
  | { allowed: false; rule: 'reminders'; asked: number };

/** A short unsubscribe code (`/u/<code>`, see delivery/short-links.ts) and what it acts on. */
export interface UnsubscribeCode {
  code: string;
  /** The send it was drawn for: one code per idempotency key and channel. */
  idempotencyKey: string;
  customerId: string;
  channel: string;
  category: string;
  /** ISO times; the code works from `createdAt` until just before `expiresAt`. */
  createdAt: string;
  expiresAt: string;
}

/** When a consent statement was made and, for a call, its messageId (a redelivery is one statement). */
export interface StatementOrigin {
  at: string;
  messageId?: string;
}

/** One statement in a customer's consent history (`consent_changes`). */
export interface ConsentChange {
  changeId: string;
  customerId: string;
  channel: string;
  category: string;
  status: SubscriptionStatus;
  /** Who carried it: identify, unsubscribe_link, resubscribe_page, api, import … */
  source: string;
  /** False when it was older than the statement held when it arrived, and so changed nothing. */
  applied: boolean;
  /** When the customer said it (the caller's clamped time); statements are ordered by this. */
  happenedAt: string;
  /** When it reached the store. */
  recordedAt: string;
}

/** What consent-aware, capped delivery needs of the store. SQLite and PostgreSQL implement it. */
export interface DeliveryStore {
  /**
   * Subscription of a customer to a channel and category. Unknown means subscribed for
   * `transactional` and for marketing categories alike (opt-out model), unless a trait says so.
   */
  subscription(customerId: string, channel: string, category: string): Promise<SubscriptionStatus>;
  /**
   * What the customer stated about a channel and category: `subscribed`, `unsubscribed` (a row,
   * or the legacy trait), or `unknown` when there is no statement and the channel's consent mode
   * decides. What `consent.<channel>.<category>` in a condition reads.
   */
  consent(customerId: string, channel: string, category: string): Promise<ConsentState>;
  /**
   * A consent statement made at `at`: kept in the history, and the subscription changes only when
   * it is not older than the statement held (rules.ts consentSupersedes; an unsubscribe wins a
   * tie).
   */
  setSubscription(customerId: string, channel: string, category: string, status: SubscriptionStatus, source: string, at: string): Promise<void>;
  /** Every consent statement about the customer (and the anonymous ids merged into it), in the order they happened. */
  consentHistory(customerId: string): Promise<ConsentChange[]>;
  /** Addresses that must never be mailed again (hard bounce, complaint). */
  suppress(channel: string, address: string, reason: string, at: string): Promise<void>;
  suppression(channel: string, address: string): Promise<string | undefined>;
  /**
   * Checks every cap and records the send in one atomic step: two journeys racing for the last
   * slot cannot both pass. A key that already holds a slot is allowed again (retries).
   */
  reserveSendSlot(check: CapCheck): Promise<CapDecision>;
  /** Frees a slot whose send did not happen (failed for good). */
  releaseSendSlot(idempotencyKey: string): Promise<void>;
  /**
   * The survey fatigue rule, checked and recorded in one atomic step under the customer's lock:
   * refused when another survey (any survey, journey or run, except this same survey in this same
   * run) was asked within `fatigueMs`, or when this run already asked this survey `1 + reminders`
   * times; otherwise the ask is recorded at `at`. A key that already holds an ask is allowed
   * again (retries). Two racing asks for one customer: one is allowed.
   */
  reserveSurveyAsk(check: SurveyAskCheck): Promise<SurveyAskDecision>;
  /** Forgets an ask whose message did not go out (capped, or failed for good), so it counts nowhere. */
  releaseSurveyAsk(idempotencyKey: string): Promise<void>;
  /**
   * Keeps a short unsubscribe code, once per idempotency key and channel, and returns the code
   * that key and channel hold: one stored by an earlier attempt (a retry gets the same code back
   * and nothing else is written), else `link.code`. Undefined when `link.code` already belongs
   * to another send: the caller draws another.
   */
  saveUnsubscribeCode(link: UnsubscribeCode): Promise<string | undefined>;
  /** A stored code, expired or not (the caller judges expiry), or undefined for a code never stored. */
  unsubscribeCode(code: string): Promise<UnsubscribeCode | undefined>;
}

// --- privacy: erasure, export, retention -----------------------------------------------------

/** What `forgetCustomer` erases for one person (see privacy/forget.ts for the whole procedure). */
export interface ForgetRequest {
  /** A user id or an anonymous id; the person is the canonical id and every anonymous id linked to it. */
  id: string;
  /** When the erasure happens (ISO); kept with each address hash and as the end of runs still open. */
  at: string;
  /** Keyed hash of an address (privacy/hash.ts); the store never holds the key, nor keeps the address. */
  hashAddress: (channel: string, address: string) => string;
}

/** Rows erased per kind; `enrolments` and `stepRecords` are kept, pseudonymised, for the journey numbers. */
export interface ForgetCounts {
  profiles: number;
  identityLinks: number;
  events: number;
  messages: number;
  subscriptions: number;
  consentChanges: number;
  suppressions: number;
  surveyAsks: number;
  surveyAnswers: number;
  sendSlots: number;
  unsubscribeCodes: number;
  profileChanges: number;
  enrolments: number;
  stepRecords: number;
}

export interface ForgetResult {
  /** The canonical id that was resolved, and every id erased with it. */
  customer: string;
  ids: string[];
  erased: ForgetCounts;
  /** Address hashes now on the forgotten list (new or refreshed) by channel. */
  forgottenAddresses: Record<string, number>;
  /** False when nothing was held about the person any more (a repeated erasure). */
  found: boolean;
  /** Workflow ids of the runs that were still open when erased (ended here as `forgotten`): the caller ends any it had not ended in Temporal. */
  openRuns: { workflowId: string; journeyId: string }[];
}

/** Everything the store holds about one person (the canonical id and its linked anonymous ids). */
export interface CustomerData {
  customer: string;
  ids: string[];
  profile?: Profile;
  identities: { anonymousId: string; userId: string; linkedAt: string }[];
  subscriptions: { channel: string; category: string; status: string; source: string; updatedAt: string }[];
  consentChanges: { channel: string; category: string; status: string; source: string; applied: boolean; happenedAt: string; recordedAt: string }[];
  suppressions: { channel: string; address: string; reason: string; at: string }[];
  events: StoredEvent[];
  messages: MessageRecord[];
  enrolments: (Enrolment & { steps: StepRecord[] })[];
  surveyAsks: SurveyAsk[];
  surveyAnswers: SurveyAnswer[];
}

/** One retention sweep's limits: rows older than `before` go, at most `limit` of each kind per call. */
export interface RetentionSweep {
  before: string;
  limit: number;
}

/** Erasure, export and retention (privacy/), implemented by both SQL stores. */
export interface PrivacyStore {
  /**
   * Erases a person in one transaction: profile, identity links, events, messages, consent rows
   * and history, suppressions of their addresses, survey asks and answers, send slots, unsubscribe
   * codes. Their addresses (profile, identify traits, messages sent) stay only as keyed hashes in
   * `forgotten_addresses`. Enrolments and step records are kept for the journey numbers under a
   * random pseudonym, without input, trigger key or step details (a skip reason stays); a run
   * still open ends with outcome `forgotten`. The caller ends the Temporal runs first. Repeating
   * it erases nothing more and answers `found: false`.
   */
  forgetCustomer(request: ForgetRequest): Promise<ForgetResult>;
  /** Everything held about the person the id resolves to; `undefined` when nothing is held. */
  customerData(id: string): Promise<CustomerData | undefined>;
  /** When an address with this keyed hash was forgotten, if it was. */
  forgottenAt(channel: string, addressHash: string): Promise<string | undefined>;
  /**
   * Whether the customer, as it stands now, is subscribed to the channel and category by a
   * statement recorded after `since` (for transactional sends: any category of the channel).
   */
  subscribedSince(customerId: string, channel: string, category: string | undefined, since: string): Promise<boolean>;
  /**
   * Deletes routed events received before `before` (never an unrouted one) and blanks the
   * rendered content of finished messages created before it, keeping each row with its status so
   * a retried send still finds its key. At most `limit` of each per call; answers the counts.
   */
  applyRetention(sweep: RetentionSweep): Promise<{ events: number; messages: number }>;
}
