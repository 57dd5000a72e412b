import type { z } from 'zod';
import type { ActivityPolicy, TemplatePlan, TrackEvent } from '../compiler/plan';
import type { ProfileStore } from '../profiles/store';

/** What every activity implementation may depend on; built once per worker. */
export interface ActivityDeps {
  store: ProfileStore;
  /** Sends one rendered email; returns the id the server accepted it under. */
  mailer: Mailer;
  /** Default `From:` address when a template gives none. */
  mailFrom: string;
  /** Secret for `X-Unbroken-Signature` on outgoing webhooks (UNBROKEN_WEBHOOK_SECRET); unsigned when unset. */
  webhookSecret?: string;
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
}

// --- built-in activities the interpreter calls --------------------------------------------

export interface SendMessageInput {
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
    }
  | {
      status: 'skipped';
      channel: string;
      template: string;
      reason: string;
      /** What went wrong, for `template_error` (e.g. the missing variable). */
      error?: string;
    };

export interface LoadProfileInput {
  customerId: string;
}

export interface UpdateProfileInput {
  idempotencyKey: string;
  context: JourneyContext;
  now: string;
  set?: Record<string, unknown>;
  unset?: string[];
  increment?: Record<string, number>;
  addTags?: string[];
  removeTags?: string[];
}

export interface RecordStepInput {
  idempotencyKey: string;
  context: JourneyContext;
  stepId: string;
  kind: string;
  at: string;
  detail?: Record<string, unknown>;
}
