import type { z } from 'zod';
import type { ActivityPolicy, TemplatePlan, TrackEvent } from '../compiler/plan';
import type { ConsentMode } from '../core/consent';
import type { ShortUnsubscribeLinks } from '../delivery/short-links';
import type { SurveyLinkBuilder } from '../delivery/survey-tokens';
import type { ProfileChanges, ProfileStore } from '../profiles/store';
import type { Metrics } from '../observability/metrics';
import type { AllowList } from './channels/destination';

/** What every activity implementation may depend on; built once per worker. */
export interface ActivityDeps {
  store: ProfileStore;
  /** Sends one rendered email; returns the id the server accepted it under. */
  mailer: Mailer;
  /** Default `From:` address when a template gives none. */
  mailFrom: string;
  /** SMS provider; sms templates are skipped with `channel_unavailable` when absent. */
  sms?: SmsProvider;
  /** Webhook channel sender; webhook templates are skipped with `channel_unavailable` when absent. */
  webhook?: WebhookSender;
  /** Delivery rules: consent, caps, unsubscribe links. Absent: everything is allowed, no links. */
  delivery?: DeliveryPolicy;
  /** Secret for `X-Unbroken-Signature` on outgoing webhooks (UNBROKEN_WEBHOOK_SECRET); unsigned when unset. */
  webhookSecret?: string;
  /** Private addresses and hosts `http_post` may reach (UNBROKEN_HTTP_ALLOW_PRIVATE); none when absent. */
  httpAllowPrivate?: AllowList;
  /** Counts sends, their durations and journey outcomes; absent: nothing is counted. */
  metrics?: Metrics;
}

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  text?: string;
  html?: string;
  /** Stable RFC 5322 Message-ID derived from the idempotency key. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(mail: OutgoingEmail): Promise<{ messageId: string }>;
}

/** Where a side effect happens inside a journey; every activity that has one receives it. */
export interface JourneyContext {
  workflowId: string;
  journeyId: string;
  version: string;
  customerId: string;
  /** ISO time the customer entered. */
  enteredAt: string;
  trigger: TrackEvent;
  /** The run's trigger key (`trigger.key`); absent for journeys without one. */
  key?: string;
}

/** Input of every `do:` activity: the step's checked `with` block and where it runs. */
export interface DoInput<W> {
  with: W;
  context: JourneyContext;
  stepId: string;
  /** Workflow id + entry + version + step id: unique per side effect, stable across retries. */
  idempotencyKey: string;
  /** ISO time of the journey's clock when the step ran. */
  now: string;
}

/**
 * One activity a journey may call with `do: <name>`. Each lives in its own file under
 * `activities/` and is listed once in `activities/index.ts`.
 */
export interface ActivityDefinition<W = unknown> {
  name: string;
  /** One line for marketers: what the step does. */
  description: string;
  /** Schema of the step's `with:` block; checked at compile time. */
  input: z.ZodType<W>;
  policy: ActivityPolicy;
  create(deps: ActivityDeps): (input: DoInput<W>) => Promise<unknown>;
  /**
   * What the step would do, for `simulate` and journey tests, which never call `create`'s
   * function: build the request (or record, or message) exactly as the real call would, and
   * return it without sending it. Without this hook a simulation shows the resolved `with`.
   */
  simulate?(input: DoInput<W>, deps: ActivityDeps): SimulatedCall;
}

/** An HTTP request as a simulation shows it: credentials in headers masked (see channels/http.ts). */
export interface SimulatedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What a `do:` step or a webhook would have sent; attached to its timeline entry by `simulate`. */
export interface SimulatedCall {
  /** The HTTP request that would have gone out. */
  request?: SimulatedRequest;
  /** Anything else that describes the effect (a CRM record, a ticket), shown as JSON. */
  effect?: Record<string, unknown>;
}

// --- built-in activities the interpreter calls --------------------------------------------

export interface SendMessageInput extends RidingRecords {
  idempotencyKey: string;
  context: JourneyContext;
  stepId: string;
  template: TemplatePlan;
  /** Override of the recipient (already a Liquid expression or a literal). */
  to?: string;
  data?: Record<string, unknown>;
  /** The step's `category:` override; the template's category applies when absent. */
  category?: string;
  /** ISO time of the journey's clock: `{{ now }}` in templates. */
  now: string;
  /** The event the latest `wait_for` received: `{{ received.* }}` in templates and `data`. */
  received?: TrackEvent;
  /** What a frequency-capped send does: skip (default) or answer `deferred` with when to retry. */
  onCap?: 'skip' | 'defer';
  /** The journey's own cap (`frequency_cap:` in the journey), on top of the global caps. */
  journeyCap?: { max: number; windowMs: number; perKey?: true };
  /**
   * How many times this run may ask a survey again (the journey's `survey_reminders:`); set only
   * when the journey says so, else the default (core/surveys.ts DEFAULT_SURVEY_REMINDERS).
   */
  surveyReminders?: number;
  /**
   * Where `template` cannot go (no address, suppressed, no consent, no provider), the next of
   * these that can: the same message for other channels, in the order of the step's `channels:`.
   */
  fallbacks?: TemplatePlan[];
}

/** A channel a send with `channels:` did not take, and the skip reason that ruled it out. */
export interface PassedOverChannel {
  channel: string;
  reason: string;
}

export type SendMessageResult =
  | {
      status: 'sent';
      channel: string;
      template: string;
      to: string;
      subject: string;
      body: string;
      messageId: string;
      /** With `channels:`, the channels tried first and why they were passed over. */
      passedOver?: PassedOverChannel[];
    }
  | {
      status: 'skipped';
      channel: string;
      template: string;
      reason: string;
      /** What went wrong, for `template_error` (e.g. the missing variable). */
      error?: string;
      /** With `channels:`, the channels passed over and why (all of them for `no_channel`). */
      passedOver?: PassedOverChannel[];
    }
  | {
      /** Frequency-capped with `on_cap: defer`: nothing was sent; try again at `retryAt`. */
      status: 'deferred';
      channel: string;
      template: string;
      reason: 'frequency_cap';
      retryAt: string;
    };

export interface LoadProfileInput {
  customerId: string;
}

/** The changes of an `update_profile` step (the store's own shape) with the run that makes them. */
export interface UpdateProfileInput extends ProfileChanges, RidingRecords {
  idempotencyKey: string;
  context: JourneyContext;
  now: string;
  /** The event the latest `wait_for` received: `{{ received.* }}` in `set` values. */
  received?: TrackEvent;
}

export interface RecordStepInput {
  idempotencyKey: string;
  context: JourneyContext;
  stepId: string;
  kind: string;
  at: string;
  detail?: Record<string, unknown>;
}

/** A step record riding on a work activity: its run's context is the activity's. */
export type KeptRecord = Omit<RecordStepInput, 'context'>;

/**
 * Timeline records a work activity (`sendMessage`, `updateProfile`) stores for its run, so that
 * recording a step costs no activity of its own (workflows/run/patches.ts
 * RECORDS_RIDE_ON_ACTIVITIES). Absent in runs started before: the workflow records them.
 */
export interface RidingRecords {
  /**
   * The run's flow records kept since its last write, in timeline order: stored before the work.
   * Each without its context, which is the activity's own (`context`), so the history holds it once.
   */
  records?: KeptRecord[];
  /**
   * Asks for the record of the activity's own outcome (core/step-outcomes.ts): stored after the
   * work, at step `step`, dated the input's `now`, under the work's idempotency key +
   * `/outcome` (record-step.ts `outcomeRecordKey`). A retry, or a second call for a send already
   * done, stores it once.
   */
  outcome?: { step: string };
}

// --- channels -------------------------------------------------------------------------------

/** Sends one SMS through a provider; `idempotencyKey` is passed on where the provider supports it. */
export interface SmsProvider {
  readonly name: string;
  send(message: { to: string; body: string; from?: string; idempotencyKey: string }): Promise<{ providerId: string }>;
}

/** Delivers one webhook message (template channel `webhook`). */
export interface WebhookSender {
  send(message: { url: string; body: string; idempotencyKey: string }): Promise<{ status: number }>;
}

// --- delivery policy --------------------------------------------------------------------------

/** A frequency cap: at most `max` messages of a channel and category per customer per window. */
export interface FrequencyCap {
  channel: string;
  category: string;
  max: number;
  windowMs: number;
}

/** Configuration of consent and caps, built once per worker from the environment. */
export interface DeliveryPolicy {
  caps: FrequencyCap[];
  /**
   * Builds the signed, expiring one-click unsubscribe URL for a customer and category, valid for
   * the lifetime from `at` (the journey's time of the send; default: now).
   */
  unsubscribeUrl(customerId: string, channel: string, category: string, at?: Date): string;
  /**
   * Builds `{{ unsubscribe_short_url }}` (`<public url>/u/<code>`, for SMS) from a random code the
   * activity draws and the store keeps, with the same lifetime as the signed link.
   */
  shortUnsubscribe: ShortUnsubscribeLinks;
  /**
   * Mints a survey's signed answer-page link (`<public url>/s/<token>`), bound to the customer,
   * run, step and survey. Absent: survey templates cannot be sent (skipped as template_error).
   */
  surveyLink?: SurveyLinkBuilder;
  /**
   * Per channel, whether a customer who made no statement gets non-transactional messages
   * (UNBROKEN_CONSENT_DEFAULTS); a channel not listed keeps its built-in mode (core/consent.ts).
   */
  consentModes?: Partial<Record<string, ConsentMode>>;
  /**
   * The survey fatigue window (UNBROKEN_SURVEY_FATIGUE): no survey to a customer who was asked
   * another within it; 0 switches that off. Absent: the default, 90 days.
   */
  surveyFatigueMs?: number;
  /**
   * Keyed hash of an address (privacy/hash.ts), to look it up among forgotten customers'
   * addresses. Absent (a simulation): there is no forgotten list.
   */
  addressHash?: (channel: string, address: string) => string;
}
