/**
 * The store's pure rules: how traits and changes apply to a customer, how an anonymous profile
 * merges into a user's, the re-entry decision, the stats assembly, and the delivery rules
 * (subscription defaults, address normalisation, frequency-cap arithmetic). The SQL store (sql/)
 * only reads and writes rows; every rule lives here once, testable without a database.
 */
import { parseAddress } from '../core/addresses';
import { isTransactional } from '../core/categories';
import { SUBSCRIPTIONS_TRAIT, type ConsentState } from '../core/consent';
import { ProfileStoreError } from './errors';
import type {
  CapCheck,
  CapDecision,
  EnrolDecision,
  JourneyStats,
  LiveStore,
  Profile,
  ProfileChanges,
  SubscriptionStatus,
  SurveyAskCheck,
  SurveyAskDecision,
} from './store';

/** Profile fields stored in their own columns rather than in the traits JSON. */
export const SYSTEM_TEXT_FIELDS = ['email', 'phone', 'timezone'] as const;
type SystemTextField = (typeof SYSTEM_TEXT_FIELDS)[number];

/** Step kinds that end a run: recording one closes the enrolment with that outcome. */
export const ENDING_KINDS: ReadonlySet<string> = new Set(['completed', 'converted', 'exited', 'failed']);

/** A customer while being changed: system fields apart from free-form traits. */
export interface CustomerState {
  id: string;
  email?: string;
  phone?: string;
  timezone?: string;
  tags: string[];
  traits: Record<string, unknown>;
}

/** A customer nobody has written yet. */
export function emptyCustomer(id: string): CustomerState {
  return { id, tags: [], traits: {} };
}

/** Applies an `identify`: every trait is set, `null` removes it, `id` is ignored. */
export function applyTraits(state: CustomerState, traits: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(traits)) {
    if (key === 'id' || value === undefined) continue;
    setField(state, key, value);
  }
}

/** Applies a journey's profile changes; throws ProfileStoreError (and changes nothing durable) when one is invalid. */
export function applyProfileChanges(state: CustomerState, changes: ProfileChanges): void {
  for (const [key, value] of Object.entries(changes.set ?? {})) setField(state, key, value);
  for (const key of changes.unset ?? []) setField(state, key, null);
  for (const [key, amount] of Object.entries(changes.increment ?? {})) increment(state, key, amount);
  if (changes.addTags) state.tags = dedupe([...state.tags, ...changes.addTags]);
  if (changes.removeTags) {
    const remove = new Set(changes.removeTags);
    state.tags = state.tags.filter((tag) => !remove.has(tag));
  }
}

/**
 * Folds an anonymous visitor's profile into the user's: the user's own values win, the
 * anonymous profile only fills gaps; tags are the union, the user's first.
 */
export function mergeCustomers(userId: string, user: CustomerState | undefined, anonymous: CustomerState): CustomerState {
  const base = user ?? emptyCustomer(userId);
  const merged: CustomerState = {
    id: userId,
    tags: dedupe([...base.tags, ...anonymous.tags]),
    traits: { ...anonymous.traits, ...base.traits },
  };
  for (const key of SYSTEM_TEXT_FIELDS) {
    const value = base[key] ?? anonymous[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** The journey-facing view of a customer. */
export function toProfile(state: CustomerState): Profile {
  // Traits first, so a stray trait can never shadow a system field.
  const profile: Profile = { ...state.traits, id: state.id, tags: [...state.tags] };
  for (const key of SYSTEM_TEXT_FIELDS) {
    if (state[key] !== undefined) profile[key] = state[key];
    else delete profile[key];
  }
  return profile;
}

/** A run of the journey as the re-entry rule needs to see it. */
export interface PastEntry {
  entry: number;
  enteredAt: string;
  endedAt: string | null;
  /** The run's trigger key; '' for runs of journeys without one. */
  instanceKey: string;
}

/** The re-entry rule of a journey (same shape as the compiled plan's `reEntry`). */
export type ReEntryRule = Parameters<LiveStore['tryEnrol']>[0]['reEntry'];

/** Whether a new run may start, and its entry number if so. */
export type EntryDecision =
  | { enter: true; entry: number }
  | { enter: false; reason: Extract<EnrolDecision, { enrolled: false }>['reason']; until?: string };

/**
 * Decides one entry attempt from the journey's pause state and the customer's previous runs.
 * Order matters: a paused journey admits nobody, a customer inside is never entered twice, and
 * only then does the re-entry rule look at the history. Both look only at runs with the same
 * key (`''` without trigger.key); the entry number counts every run of the customer.
 *
 * With `occurrence` (a schedule firing or a date's occurrence, stored as the run's key) the rule
 * is per customer, not per key: a run of the same occurrence enters nobody again (`active` while
 * it runs, so a start that failed is retried; `occurrence_done` after), any other run still inside
 * keeps the customer out, and the journey's re-entry rule then applies across occurrences.
 */
export function decideEntry(args: { paused: boolean; history: readonly PastEntry[]; reEntry: ReEntryRule; at: string; key?: string; occurrence?: boolean }): EntryDecision {
  const key = args.key ?? '';
  if (args.paused) return { enter: false, reason: 'paused' };
  const same = args.history.filter((run) => run.instanceKey === key);
  if (same.some((run) => run.endedAt === null)) return { enter: false, reason: 'active' };
  if (args.occurrence && same.length > 0) return { enter: false, reason: 'occurrence_done' };
  const history = args.occurrence ? args.history : same;
  if (args.occurrence && history.some((run) => run.endedAt === null)) return { enter: false, reason: 'active' };
  const refused = reEntryRefuses(args.reEntry, history, args.at);
  if (refused) return refused;
  return { enter: true, entry: Math.max(0, ...args.history.map((run) => run.entry)) + 1 };
}

/** The re-entry rule over the runs it looks at: why a customer with this history may not enter now, if so. */
function reEntryRefuses(reEntry: ReEntryRule, history: readonly PastEntry[], at: string): EntryDecision | undefined {
  if (history.length === 0) return undefined;
  if (reEntry.mode === 'never') return { enter: false, reason: 're_entry_never' };
  if (reEntry.mode !== 'cooldown') return undefined;
  const last = Math.max(...history.map((run) => Date.parse(run.enteredAt)));
  const until = last + reEntry.ms;
  return until > Date.parse(at) ? { enter: false, reason: 're_entry_cooldown', until: new Date(until).toISOString() } : undefined;
}

/** Grouped counts the stores query; `assembleStats` turns them into the report. */
export interface StatsRows {
  entered: number;
  active: number;
  outcomes: { outcome: string; count: number }[];
  /** One row per (step, kind), already ordered by first appearance. */
  steps: { stepId: string; kind: string; count: number }[];
  /** Skipped records per (step, reason); a missing reason is counted as `unspecified`. */
  skipReasons: { stepId: string; reason: string | null; count: number }[];
}

/** Builds `unbroken stats` output from grouped counts (the counting itself stays in SQL). */
export function assembleStats(journeyId: string, rows: StatsRows): JourneyStats {
  const outcomes: Record<string, number> = {};
  for (const { outcome, count } of rows.outcomes) outcomes[outcome] = count;
  const reasons = new Map<string, Record<string, number>>();
  for (const { stepId, reason, count } of rows.skipReasons) {
    const byReason = reasons.get(stepId) ?? {};
    const key = reason ?? 'unspecified';
    byReason[key] = (byReason[key] ?? 0) + count;
    reasons.set(stepId, byReason);
  }
  return {
    journeyId,
    entered: rows.entered,
    active: rows.active,
    outcomes,
    steps: rows.steps.map(({ stepId, kind, count }) => {
      const step: JourneyStats['steps'][number] = { stepId, kind, count };
      if (kind === 'skipped') step.reasons = reasons.get(stepId) ?? {};
      return step;
    }),
  };
}

/** Refuses an identity call that names nobody. */
export function requireSomeId(ids: { userId?: string; anonymousId?: string }): void {
  if (!ids.userId && !ids.anonymousId) {
    throw new ProfileStoreError('invalid_identity', 'resolveCustomer needs a userId, an anonymousId or both');
  }
}

// --- delivery: consent, suppression, frequency caps ------------------------------------------

/** Legacy trait: `unsubscribed: true` opts out of every non-transactional category on every channel. */
export const LEGACY_UNSUBSCRIBED_TRAIT = 'unsubscribed';

/** Identify trait that sets subscription rows instead of being stored (defined in core, read by the compiler too). */
export { SUBSCRIPTIONS_TRAIT };

/** One subscription row an identify call asks for. */
export interface SubscriptionChange {
  channel: string;
  category: string;
  status: SubscriptionStatus;
}

/** The source of consent an identify's `subscriptions` trait states; every other source is an explicit statement. */
export const IDENTIFY_SOURCE = 'identify';

/**
 * Whether a consent statement replaces the one held for its channel and category. Statements are
 * ordered by when they happened (ISO times), not when they arrived, so a queued or retried call
 * never undoes a newer one. At the same instant the later arrival wins (calls of one batch keep
 * their order), except over an explicit unsubscribe (a link, the API: any source but an
 * identify), which a subscribe of the same instant never undoes.
 */
export function consentSupersedes(
  held: { status: string; source: string; happenedAt: string } | undefined,
  change: { status: SubscriptionStatus; happenedAt: string },
): boolean {
  if (!held) return true;
  const next = Date.parse(change.happenedAt);
  const current = Date.parse(held.happenedAt);
  if (next !== current) return next > current;
  const explicitUnsubscribe = held.status === 'unsubscribed' && held.source !== IDENTIFY_SOURCE;
  return !(explicitUnsubscribe && change.status === 'subscribed');
}

/**
 * Splits an identify's traits into the ones stored on the profile and the subscription rows the
 * `subscriptions` trait asks for. Values may be booleans or `subscribed`/`unsubscribed`; `null`
 * (for the whole trait or one category) changes nothing, because "no statement" must never
 * silently resubscribe anyone. Anything else is refused as `invalid_change`.
 */
export function splitSubscriptionTraits(
  customerId: string,
  traits: Record<string, unknown>,
): { traits: Record<string, unknown>; subscriptions: SubscriptionChange[] } {
  if (!Object.hasOwn(traits, SUBSCRIPTIONS_TRAIT)) return { traits, subscriptions: [] };
  const { [SUBSCRIPTIONS_TRAIT]: raw, ...rest } = traits;
  const subscriptions: SubscriptionChange[] = [];
  const refuse = (what: string): never => {
    throw new ProfileStoreError(
      'invalid_change',
      `customer ${customerId}: "subscriptions" ${what}; write it as { <channel>: { <category>: true | false } }, e.g. { email: { marketing: false } }`,
      { customerId, field: SUBSCRIPTIONS_TRAIT },
    );
  };
  if (raw === null || raw === undefined) return { traits: rest, subscriptions };
  if (!isPlainObject(raw)) return refuse(`must be a map of channels, got ${describe(raw)}`);
  for (const [channel, categories] of Object.entries(raw)) {
    if (categories === null || categories === undefined) continue;
    if (!isPlainObject(categories)) return refuse(`.${channel} must be a map of categories, got ${describe(categories)}`);
    for (const [category, value] of Object.entries(categories)) {
      if (value === null || value === undefined) continue;
      const status = subscriptionStatusOf(value);
      if (!status) return refuse(`.${channel}.${category} must be true, false, "subscribed" or "unsubscribed", got ${describe(value)}`);
      if (channel.trim() === '' || category.trim() === '') return refuse('names an empty channel or category');
      subscriptions.push({ channel, category, status });
    }
  }
  return { traits: rest, subscriptions };
}

/**
 * A customer's subscription: an explicit row (identify, API, unsubscribe link) wins; without one,
 * the legacy `unsubscribed: true` trait opts out of every non-transactional category; otherwise
 * the customer is subscribed (opt-out model).
 */
export function decideSubscription(
  explicit: string | undefined,
  traits: Record<string, unknown> | undefined,
  category: string,
): SubscriptionStatus {
  const state = consentState(explicit, traits, category);
  return state === 'unknown' ? 'subscribed' : state;
}

/**
 * What a customer stated about a channel and category: an explicit row wins, then the legacy
 * `unsubscribed: true` trait (every non-transactional category); without either, `unknown`,
 * and the channel's consent mode (opt-out or opt-in) decides whether a message may go out.
 */
export function consentState(explicit: string | undefined, traits: Record<string, unknown> | undefined, category: string): ConsentState {
  if (explicit === 'subscribed' || explicit === 'unsubscribed') return explicit;
  if (!isTransactional(category) && traits?.[LEGACY_UNSUBSCRIBED_TRAIT] === true) return 'unsubscribed';
  return 'unknown';
}

/**
 * The one form an address is compared in (suppression rows, the privacy hash): the canonical
 * address of core/addresses.ts, so `"Ada" <Ada@Example.com>;` and `ada@example.com` are one row
 * and `+1 (555) 000-1111` matches `+15550001111`. Text that is not exactly one address (an old
 * row, a lookup with raw text) is still compared trimmed and lower-case, phone separators
 * dropped, so a lookup never throws; such an address is never sent to (the send skips it).
 */
export function normaliseAddress(channel: string, address: string): string {
  const parsed = parseAddress(channel, address);
  if (parsed.ok && channel !== 'webhook') return parsed.address;
  const plain = address.trim().toLowerCase();
  return channel === 'sms' ? plain.replace(/[\s().-]/g, '') : plain;
}

/** One cap of a check as the store evaluates it. */
export type CapRule = CapCheck['caps'][number];

/** A cap and the newest slots the store found inside its window (newest first, at most `max` of them). */
export interface CapUsage {
  max: number;
  windowMs: number;
  /** Slot times in ms since the epoch, newest first; the store need not read more than `max`. */
  newest: number[];
}

/**
 * Refuses a cap check that cannot be evaluated (bad time, a cap of less than one message or an
 * empty window) and returns its time normalised to ISO-8601 UTC, so that SQLite's text
 * comparison of times orders them correctly.
 */
export function validateCapCheck(check: CapCheck): string {
  const ms = Date.parse(check.at);
  const bad = (what: string): never => {
    throw new ProfileStoreError('invalid_cap', `send ${check.idempotencyKey}: ${what}`, {
      customerId: check.customerId,
      idempotencyKey: check.idempotencyKey,
    });
  };
  if (!Number.isFinite(ms)) return bad(`"${check.at}" is not a time`);
  for (const cap of check.caps) {
    // A cap of 0 would defer forever: no slot ever frees. Configuration refuses it; so do we.
    if (!Number.isInteger(cap.max) || cap.max < 1) bad(`a frequency cap must allow at least 1 message, got ${cap.max}`);
    if (!Number.isFinite(cap.windowMs) || cap.windowMs <= 0) bad(`a frequency cap needs a window longer than 0, got ${cap.windowMs} ms`);
  }
  return new Date(ms).toISOString();
}

/** A time as ISO-8601 UTC text (what both stores keep and compare); refuses text that is no time. */
export function isoTime(at: string, what: string): string {
  const ms = Date.parse(at);
  if (!Number.isFinite(ms)) throw new ProfileStoreError('invalid_change', `${what}: "${at}" is not a time`);
  return new Date(ms).toISOString();
}

/** Start of a cap's window: a slot counts when its time is strictly after it. */
export function windowStart(at: string, windowMs: number): string {
  return new Date(Date.parse(at) - windowMs).toISOString();
}

/**
 * Decides a send from the slots each cap found. A cap is full when it already holds `max` slots
 * in its window; it frees up when the `max`-th newest of them leaves the window (its time plus
 * the window; slots only leave, so that instant is exact). With several full caps the send must
 * wait for the last of them, so `retryAt` is the latest freeing time.
 */
export function decideCaps(usages: readonly CapUsage[]): CapDecision {
  let retryAt: number | undefined;
  for (const usage of usages) {
    const blocking = usage.newest[usage.max - 1];
    if (blocking === undefined) continue;
    const frees = blocking + usage.windowMs;
    retryAt = retryAt === undefined ? frees : Math.max(retryAt, frees);
  }
  return retryAt === undefined ? { allowed: true } : { allowed: false, retryAt: new Date(retryAt).toISOString() };
}

/** Checks a survey ask's time and limits; returns its time as canonical ISO text. */
export function validateSurveyAsk(check: SurveyAskCheck): string {
  const bad = (what: string): never => {
    throw new ProfileStoreError('invalid_change', `survey ask ${check.idempotencyKey}: ${what}`, {
      customerId: check.customerId,
      idempotencyKey: check.idempotencyKey,
    });
  };
  for (const field of ['idempotencyKey', 'customerId', 'surveyId', 'journeyId', 'workflowId', 'stepId'] as const) {
    if (typeof check[field] !== 'string' || check[field] === '') bad(`${field} must be a non-empty string`);
  }
  if (!Number.isFinite(check.fatigueMs) || check.fatigueMs < 0) bad(`the fatigue window must be 0 (off) or longer, got ${check.fatigueMs} ms`);
  if (!Number.isInteger(check.reminders) || check.reminders < 0) bad(`reminders must be a whole number from 0, got ${check.reminders}`);
  const ms = Date.parse(check.at);
  if (!Number.isFinite(ms)) bad(`"${check.at}" is not a time`);
  return new Date(ms).toISOString();
}

/**
 * The survey fatigue rule over what the store found: `answeredAt`, when this run's survey was
 * answered (a reminder held back by the send window may come due after the answer), `recent`,
 * the newest other survey asked to the customer inside the window (not this survey in this
 * run), and `askedInRun`, how often this run already asked this survey. The first ask and
 * `reminders` more are allowed.
 */
export function decideSurveyAsk(
  recent: { surveyId: string; journeyId: string; askedAt: string } | undefined,
  askedInRun: number,
  reminders: number,
  answeredAt?: string,
): SurveyAskDecision {
  if (answeredAt !== undefined) return { allowed: false, rule: 'answered', answeredAt };
  if (recent) return { allowed: false, rule: 'fatigue', previous: recent };
  if (askedInRun > reminders) return { allowed: false, rule: 'reminders', asked: askedInRun };
  return { allowed: true };
}

function isSystemTextField(key: string): key is SystemTextField {
  return (SYSTEM_TEXT_FIELDS as readonly string[]).includes(key);
}

/** Sets one field; `null` clears it (a trait is removed, `tags` becomes empty). */
function setField(state: CustomerState, key: string, value: unknown): void {
  if (key === 'id') {
    throw new ProfileStoreError('invalid_change', `customer ${state.id}: "id" cannot be changed`, {
      customerId: state.id,
      field: key,
    });
  }
  if (isSystemTextField(key)) {
    if (value === null || value === undefined || value === '') delete state[key];
    else if (typeof value === 'string') state[key] = canonicalField(key, value);
    else {
      throw new ProfileStoreError(
        'invalid_change',
        `customer ${state.id}: "${key}" must be a string, got ${describe(value)}`,
        { customerId: state.id, field: key },
      );
    }
    return;
  }
  if (key === 'tags') {
    if (value === null || value === undefined) state.tags = [];
    else if (Array.isArray(value) && value.every((tag) => typeof tag === 'string')) state.tags = dedupe(value);
    else {
      throw new ProfileStoreError(
        'invalid_change',
        `customer ${state.id}: "tags" must be a list of strings, got ${describe(value)}`,
        { customerId: state.id, field: key },
      );
    }
    return;
  }
  if (value === null || value === undefined) delete state.traits[key];
  else state.traits[key] = value;
}

/**
 * `email` and `phone` are kept in their canonical form. The API refuses anything else at the
 * door; a value that still is not one address (a journey's profile change, a direct store write)
 * is kept as written, and every send parses it again and skips it as `invalid_address`.
 */
function canonicalField(key: SystemTextField, value: string): string {
  if (key === 'timezone') return value;
  const parsed = parseAddress(key === 'email' ? 'email' : 'sms', value);
  return parsed.ok ? parsed.address : value;
}

function increment(state: CustomerState, key: string, amount: number): void {
  if (!Number.isFinite(amount)) {
    throw new ProfileStoreError('invalid_change', `customer ${state.id}: cannot increment "${key}" by ${amount}`, {
      customerId: state.id,
      field: key,
    });
  }
  const current = key === 'tags' || key === 'id' || isSystemTextField(key) ? state[key] : state.traits[key];
  if (current === undefined || current === null) {
    setField(state, key, amount);
  } else if (typeof current === 'number') {
    setField(state, key, current + amount);
  } else {
    throw new ProfileStoreError(
      'invalid_change',
      `customer ${state.id}: cannot increment "${key}", it holds ${describe(current)}, not a number (unset it first or use another trait)`,
      { customerId: state.id, field: key },
    );
  }
}

function subscriptionStatusOf(value: unknown): SubscriptionStatus | undefined {
  if (value === true || value === 'subscribed') return 'subscribed';
  if (value === false || value === 'unsubscribed') return 'unsubscribed';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dedupe(tags: string[]): string[] {
  return [...new Set(tags)];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? `the text ${JSON.stringify(value)}` : `a ${typeof value}`;
}
