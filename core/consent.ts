/**
 * Consent as journeys see it: the `consent.<channel>.<category>` root of conditions, the three
 * states it reads, and the per-channel rule for customers who never said anything. Sandbox-safe:
 * the compiler, the router, the workflow and the send activity all use it.
 */
import type { Condition, JourneyPlan, Step } from '../compiler/plan';
import { forEachReadPath } from './conditions';

/** The condition root that reads a customer's subscription: `consent.sms.marketing`. */
export const CONSENT_ROOT = 'consent';

/** What `consent.<channel>.<category>` reads; `unknown` means the customer made no statement. */
export const CONSENT_STATES = ['subscribed', 'unsubscribed', 'unknown'] as const;
export type ConsentState = (typeof CONSENT_STATES)[number];

/** What an `unknown` state means for sending: `opt-out` sends (subscribed), `opt-in` does not. */
export const CONSENT_MODES = ['opt-out', 'opt-in'] as const;
export type ConsentMode = (typeof CONSENT_MODES)[number];

/**
 * The rule per channel when ops configure none (UNBROKEN_CONSENT_DEFAULTS): email and webhooks
 * are opt-out, as they always were; marketing SMS need an explicit subscription, as the law in
 * many places requires.
 */
export const DEFAULT_CONSENT_MODES: Readonly<Record<string, ConsentMode>> = { email: 'opt-out', sms: 'opt-in', webhook: 'opt-out' };

/** Identify trait that sets consent rows instead of being stored: `{ email: { marketing: false } }`. */
export const SUBSCRIPTIONS_TRAIT = 'subscriptions';

/** The name of the built-in activity that reads consent states for conditions. */
export const LOAD_CONSENT_ACTIVITY = 'loadConsent';

/** One channel and category a condition reads. */
export interface ConsentRead {
  channel: string;
  category: string;
}

/** Consent states as conditions read them: `{ sms: { marketing: 'unknown' } }`. */
export type ConsentStates = Record<string, Record<string, ConsentState>>;

/** True when a customer may get a non-transactional message in this state on a channel of this mode. */
export function consentAllows(state: ConsentState, mode: ConsentMode): boolean {
  return state === 'subscribed' || (state === 'unknown' && mode === 'opt-out');
}

/** The channel and category of a `consent.<channel>.<category>` path, or undefined for another path. */
export function consentReadOf(path: string): ConsentRead | undefined {
  const [root, channel, category, ...rest] = path.split('.');
  if (root !== CONSENT_ROOT || channel === undefined || category === undefined || rest.length > 0) return undefined;
  return { channel, category };
}

/** Every consent state the conditions read (paths and `{{ }}` values), each once, in order. */
export function consentReads(...conditions: (Condition | undefined)[]): ConsentRead[] {
  const found = new Map<string, ConsentRead>();
  const add = (path: string) => {
    const read = consentReadOf(path);
    if (read) found.set(`${read.channel}.${read.category}`, read);
  };
  forEachReadPath(conditions, add);
  return [...found.values()];
}

/** Reads the states a set of conditions needs, one store call per channel and category. */
export async function readConsent(
  reads: readonly ConsentRead[],
  read: (channel: string, category: string) => Promise<ConsentState>,
): Promise<ConsentStates> {
  const states: ConsentStates = {};
  for (const { channel, category } of reads) (states[channel] ??= {})[category] = await read(channel, category);
  return states;
}

/**
 * Whether the running journey reads consent anywhere (goal, exit_when, `if`, `wait_for`): only then
 * does its plan pin the consent activity, so journeys that never read it pay nothing for it.
 */
export function planReadsConsent(plan: Pick<JourneyPlan, 'goal' | 'exitWhen' | 'steps'>): boolean {
  const stepReads = (steps: readonly Step[]): boolean =>
    steps.some((step) => {
      switch (step.kind) {
        case 'if':
          return consentReads(step.condition).length > 0 || stepReads(step.then) || stepReads(step.else);
        case 'wait_for':
          return consentReads(step.where).length > 0 || stepReads(step.onEvent) || stepReads(step.onTimeout);
        case 'split':
          return step.variants.some((v) => stepReads(v.steps));
        default:
          return false;
      }
    });
  return consentReads(plan.goal?.where, ...plan.exitWhen.map((m) => m.where)).length > 0 || stepReads(plan.steps);
}

/**
 * The states an identify's `subscriptions` trait states, laid over the ones a run already read,
 * so goal, exit and `wait_for` conditions see a change at once (signal handlers cannot read the
 * store). Only valid statements count (true/false, "subscribed"/"unsubscribed"); the store stays
 * the truth, read again at the next step that needs it.
 */
export function withStatements(states: ConsentStates, statements: unknown): ConsentStates {
  if (!isMap(statements)) return states;
  const next: ConsentStates = { ...states };
  for (const [channel, categories] of Object.entries(statements)) {
    if (!isMap(categories)) continue;
    for (const [category, value] of Object.entries(categories)) {
      const state = value === true || value === 'subscribed' ? 'subscribed' : value === false || value === 'unsubscribed' ? 'unsubscribed' : undefined;
      if (state) next[channel] = { ...next[channel], [category]: state };
    }
  }
  return next;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
