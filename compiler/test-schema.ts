/**
 * The shape of journey test files (`definitions/tests/**\/*.test.yaml`, run by `unbroken test`):
 * one zod schema, read by the test runner and turned into the editor's JSON Schema.
 */
import { z } from 'zod';

/** The outcomes a test may expect: a journey's outcomes, and `not_entered` when the trigger never matched. */
export const OUTCOMES = ['converted', 'completed', 'exited', 'failed', 'not_entered'] as const;

const moment = z
  .string()
  .min(1)
  .describe('A moment: "+<duration>" after the test\'s start ("+0m", "+1h", "+1d12h") or an ISO time such as "2026-03-03T11:00:00Z".');

/** A track event in a test's script. */
export const trackSchema = z
  .strictObject({
    at: moment,
    event: z.string().min(1).describe('The event name, e.g. cart_abandoned.'),
    properties: z.record(z.string(), z.unknown()).default({}).describe('The event\'s properties, e.g. { cart_id: c1, total: 80 }.'),
  })
  .describe('A track event, e.g. { at: "+0m", event: cart_abandoned, properties: { cart_id: c1, total: 80 } }.');

/** A profile change (identify) in a test's script. */
export const identifySchema = z
  .strictObject({
    at: moment,
    identify: z.record(z.string(), z.unknown()).describe('Traits to set on the profile, e.g. { vip: false }.'),
  })
  .describe('A profile change, e.g. { at: "+2d", identify: { vip: false } }.');

/** The journey an expectation is about; a test that leaves out `journey` runs them all. */
const expectationJourney = z
  .string()
  .min(1)
  .optional()
  .describe('The journey this is about, e.g. welcome-series; required in a test without `journey`, which runs every journey.');

const sendSchema = z
  .strictObject({
    journey: expectationJourney,
    template: z.string().min(1).describe('The template the send used, e.g. cart-reminder.'),
    at: moment.optional().describe('When it was sent, within the test\'s tolerance (one minute unless `tolerance` says otherwise).'),
    subject_contains: z.string().min(1).optional().describe('Text the rendered subject (or SMS body) must contain, e.g. "15%".'),
  })
  .describe('An expected send, e.g. { template: cart-reminder, at: "+1h" }.');

const expectSchema = z
  .strictObject({
    outcome: z.enum(OUTCOMES).optional().describe('How the run must end: converted, completed, exited, failed, or not_entered. Only in a test with `journey`.'),
    sends: z.array(sendSchema).optional().describe('Sends that must happen, in this order; other sends may come between.'),
    not_sent: z
      .array(
        z.union([
          z.string().min(1),
          z.strictObject({ journey: expectationJourney, template: z.string().min(1).describe('The template, e.g. welcome-tips.') }),
        ]),
      )
      .optional()
      .describe('Templates that must not be sent, e.g. [cart-last-chance]; a bare name must be sent by no journey, { journey, template } by that journey.'),
    skipped: z
      .array(
        z
          .strictObject({
            journey: expectationJourney,
            step: z.string().min(1).describe('The send step\'s id.'),
            reason: z.string().min(1).optional().describe('The skip reason the timeline gives, e.g. unsubscribed.'),
          })
          .describe('A send step that must be skipped, e.g. { step: last-chance, reason: unsubscribed }.'),
      )
      .optional()
      .describe('Send steps that must be skipped.'),
    path: z.array(z.string().min(1)).optional().describe('Step ids the run must pass through, in this order; others may come between. Only in a test with `journey`.'),
    profile: z.record(z.string(), z.unknown()).optional().describe('Traits the profile must have after the run, e.g. { cart_nudges: 1 }.'),
  })
  .describe('What must and must not happen; every key is optional.');

function buildTestSchema<E extends z.ZodType>(event: E) {
  return z
    .strictObject({
      test: z.string().min(1).describe('The test\'s name, a sentence; `unbroken test <filter>` runs tests whose name contains the filter.'),
      journey: z
        .string()
        .min(1)
        .optional()
        .describe('The journey id, e.g. abandoned-cart. Leave it out to run every journey as `simulate --all` does; each expectation then names its journey.'),
      start: z.string().optional().describe('When the test starts, an ISO time; default 2026-03-03T10:00:00Z (a Tuesday).'),
      tolerance: z.string().optional().describe('How far a send may be from an expected `at`, a duration; default 1m.'),
      profile: z
        .looseObject({ id: z.union([z.string().min(1), z.number()]).transform(String).describe('The customer id.') })
        .describe('The customer before the journey: an id and any traits, e.g. { id: u1, email: ann@example.com, vip: true }.'),
      events: z.array(event).default([]).describe('The script: events and profile changes, at moments after the start.'),
      expect: expectSchema,
    })
    .describe('A journey test: a customer, a script of events, and what must happen.');
}

/** One test; events are checked one by one afterwards, so each problem gets its own position. */
export const testSchema = buildTestSchema(z.record(z.string(), z.unknown()));

/** JSON Schema for test files, as committed in definitions/schema/: one test or a list of tests. */
export function journeyTestJsonSchema(): Record<string, unknown> {
  const test = buildTestSchema(z.union([trackSchema, identifySchema]));
  return z.toJSONSchema(z.union([z.array(test), test]), { io: 'input' }) as Record<string, unknown>;
}
