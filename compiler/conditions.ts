import type { Condition, Operator } from './plan';
import type { YamlPath } from './source';
import { describeValue, parseDuration } from './durations';
import { CASE_MODES, CHANNELS, COMBINATORS, KEBAB_RE, OPERATORS, ROOTS, TEXT_OPERATORS } from './schema';
import { compilePattern } from '../core/conditions';
import { AGGREGATE_FIELDS, IN_AUDIENCE, parseAggregatePath } from '../core/audiences';
import { CONSENT_STATES, consentReadOf, SUBSCRIPTIONS_TRAIT } from '../core/consent';
import { closest, didYouMean, listOf } from './suggest';

/** Where a condition sits, and how to report problems in it. */
export interface ConditionContext {
  /** `event.*` is the event under test: only in the `where` of goal, exit_when and wait_for. */
  allowEvent: boolean;
  /** `received.*` is the event a wait_for received: only where one can have received something. */
  allowReceived?: boolean;
  /**
   * Where `in_audience` and `events.*` may be read: audience files, a journey trigger's `where`
   * (the router loads what they read) and `if` steps (loadAggregates). Absent elsewhere, where
   * they are refused for now.
   */
  audiences?: AudienceLookup;
  report(code: string, path: YamlPath, message: string, hint: string, anchor?: 'key' | 'value'): void;
}

const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const SEGMENT_RE = /^[A-Za-z0-9_$-]+$/;
const OPERATOR_HINT = `operators: ${OPERATORS.join(', ')}; combine conditions with ${COMBINATORS.join(', ')}`;

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What `in_audience: <id>` finds: the audience's compiled condition, a silent failure (its file has errors), a cycle, or nothing. */
export type AudienceLookupResult = { condition: Condition } | { failed: true } | { cycle: string[] } | undefined;

/** Resolves an audience id for `in_audience`, and the ids known, for did-you-mean. */
export interface AudienceLookup {
  find(id: string): AudienceLookupResult;
  known(): string[];
}

/** Which roots that exist only in some places are readable here; `true`/`false` alone is `{ event }`. */
export interface ScopedRoots {
  event?: boolean;
  received?: boolean;
  events?: boolean;
}

const NOT_YET_HINT =
  "read it in an audience, the trigger's where or an if step (e.g. - if: { in_audience: lapsed-customers }); goal, exit_when and wait_for are decided as events arrive and will read audiences in a later version";

/** Roots that exist only in some places of a journey, and what to say when one is used elsewhere. */
const SCOPED_ROOTS: Record<keyof ScopedRoots, (path: string) => { code: string; message: string; hint: string }> = {
  event: (path) => ({
    code: 'event_outside_matcher',
    message: `"${path}" refers to event.*, which only exists in the "where" of goal, exit_when and wait_for`,
    hint: 'use trigger.* for the event that started the journey, or profile.* for what is known about the customer',
  }),
  received: (path) => ({
    code: 'received_before_wait_for',
    message: `"${path}" reads received.*, the event a wait_for received, but no wait_for can have received anything before this point`,
    hint: "read received.* in a wait_for's on_event or in the steps after a wait_for (in on_timeout only after an earlier wait_for); trigger.* is the event that started the journey",
  }),
  events: (path) => ({
    code: 'events_not_here_yet',
    message: `"${path}" reads event aggregates (events.*), which are read in audiences, a trigger's where and if steps, not here yet`,
    hint: NOT_YET_HINT,
  }),
};

/** Checks a dotted path like `profile.plan`; returns a problem or undefined. */
export function checkPath(
  path: string,
  allowed: boolean | ScopedRoots,
): { code: string; message: string; hint: string } | undefined {
  const segments = path.split('.');
  const [root] = segments;
  const scoped: ScopedRoots = typeof allowed === 'boolean' ? { event: allowed } : allowed;
  const unavailable = (r: string): r is keyof ScopedRoots => Object.hasOwn(SCOPED_ROOTS, r) && scoped[r as keyof ScopedRoots] !== true;
  const roots = ROOTS.filter((r) => !unavailable(r));
  if (unavailable(root)) return SCOPED_ROOTS[root](path);
  if (!(ROOTS as readonly string[]).includes(root) || segments.length < 2 || !segments.every((s) => SEGMENT_RE.test(s))) {
    const known = (ROOTS as readonly string[]).includes(root);
    const fixedRoot = closest(root, roots);
    const suggestion = !known && fixedRoot ? ` (did you mean "${[fixedRoot, ...segments.slice(1)].join('.')}"?)` : '';
    return {
      code: 'invalid_path',
      message: `"${path}" is not a valid path${suggestion}`,
      hint: `paths are dotted names starting with ${roots.map((r) => `${r}.`).join(', ')} e.g. "profile.plan" or "trigger.properties.total"`,
    };
  }
  return ROOT_RULES[root]?.(segments, path);
}

/** Rules a root adds to the general path shape, by root. */
const ROOT_RULES: Record<string, (segments: string[], path: string) => { code: string; message: string; hint: string } | undefined> = {
  profile: (segments, path) =>
    segments[1] === SUBSCRIPTIONS_TRAIT
      ? {
          code: 'subscriptions_trait',
          message: `"${path}" is always empty: an identify's "subscriptions" trait becomes consent rows, not a trait`,
          hint: `read consent.<channel>.<category> instead, e.g. consent.email.marketing: unsubscribed (subscribed, unsubscribed or unknown)`,
        }
      : undefined,
  events: (segments, path) => {
    const parsed = parseAggregatePath(path);
    if (!parsed || !('error' in parsed)) return undefined;
    const field = segments[2] ?? '';
    // `last` and `first` are the usual slips: a known field they begin is the better guess than the closest spelling.
    const started = field.length >= 3 ? AGGREGATE_FIELDS.find((f) => f.startsWith(field)) : undefined;
    const fixed = segments.length === 3 ? (started ?? closest(field, [...AGGREGATE_FIELDS, 'count_7d'])) : undefined;
    return {
      code: 'invalid_events_path',
      message: `"${path}" is not an event aggregate path: ${parsed.error}${fixed ? ` (did you mean "events.${segments[1]}.${fixed}"?)` : ''}`,
      hint: 'write events.<event name>.count, .first_at, .last_at, or a count over the last n minutes, hours, days or weeks like .count_30m, .count_24h, .count_7d, .count_2w',
    };
  },
  consent: (segments, path) => {
    const [, channel = '', category = ''] = segments;
    if (segments.length === 3 && (CHANNELS as readonly string[]).includes(channel) && KEBAB_RE.test(category)) return undefined;
    const fixed = closest(channel, CHANNELS);
    const suggestion = segments.length === 3 && fixed ? ` (did you mean "consent.${fixed}.${category}"?)` : '';
    return {
      code: 'invalid_consent_path',
      message: `"${path}" is not a consent path${suggestion}`,
      hint: `write consent.<channel>.<category> with a channel of ${CHANNELS.join(', ')} and a category word, e.g. consent.sms.marketing`,
    };
  },
};

/** Checks every `{{ … }}` in a condition value is a plain path over the allowed roots. */
export function checkExpressions(
  value: string,
  allowed: boolean | ScopedRoots,
): { code: string; message: string; hint: string } | undefined {
  for (const m of value.matchAll(/\{\{(.*?)\}\}/gs)) {
    const inner = m[1].trim();
    if (!/^[A-Za-z0-9_.$-]+$/.test(inner)) {
      return {
        code: 'invalid_expression',
        message: `"${m[0]}" is not a plain path; values here may only use {{ path }} expressions`,
        hint: 'filters and logic are not allowed in condition values; write e.g. "{{ trigger.properties.cart_id }}"',
      };
    }
    const bad = checkPath(inner, allowed);
    if (bad) return bad;
  }
  if (/\{\{|\}\}|\{%/.test(value.replace(/\{\{(.*?)\}\}/gs, ''))) {
    return {
      code: 'invalid_expression',
      message: `"${value}" has an unclosed or unsupported expression`,
      hint: 'write expressions as "{{ profile.some_trait }}"; Liquid tags ({% … %}) are not allowed here',
    };
  }
  return undefined;
}

/** Compiles a condition map; reports every problem and returns undefined when there was one. */
export function compileCondition(raw: unknown, path: YamlPath, ctx: ConditionContext): Condition | undefined {
  if (!isMap(raw) || Object.keys(raw).length === 0) {
    ctx.report(
      'invalid_condition',
      path,
      isMap(raw) ? 'empty condition' : `a condition must be a map of paths to tests, got ${describeValue(raw)}`,
      'e.g. { profile.plan: pro } or { trigger.properties.total: { gte: 20 } }',
    );
    return undefined;
  }
  let failed = false;
  const parts: Condition[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    const part = compileEntry(key, value, at, ctx);
    if (part === undefined) failed = true;
    else parts.push(part);
  }
  if (failed) return undefined;
  return parts.length === 1 ? parts[0] : { all: parts };
}

function compileEntry(key: string, value: unknown, at: YamlPath, ctx: ConditionContext): Condition | undefined {
  if (key === 'all' || key === 'any') {
    if (!Array.isArray(value) || value.length === 0) {
      ctx.report('invalid_condition', at, `"${key}" needs a non-empty list of conditions, got ${Array.isArray(value) ? 'an empty list' : describeValue(value)}`, `e.g. ${key}: [ { profile.vip: true }, { profile.plan: pro } ]`);
      return undefined;
    }
    const items = value.map((v, i) => compileCondition(v, [...at, i], ctx));
    if (items.some((c) => c === undefined)) return undefined;
    return key === 'all' ? { all: items as Condition[] } : { any: items as Condition[] };
  }
  if (key === 'not') {
    const inner = compileCondition(value, at, ctx);
    return inner === undefined ? undefined : { not: inner };
  }
  if (key === IN_AUDIENCE) return compileInAudience(value, at, ctx);
  const badPath = checkPath(key, scopedRoots(ctx));
  if (badPath) {
    const suggestion = !key.includes('.') ? didYouMean(key, [...COMBINATORS]) : '';
    ctx.report(badPath.code, at, badPath.message + suggestion, badPath.hint, 'key');
    return undefined;
  }
  // A map value is a set of tests; anything else is the `{ path: value }` shorthand for eq.
  if (!isMap(value)) return withCase(compileTest(key, 'eq', value, at, ctx), isEmailPath(key));
  const { case: caseMode, ...testMap } = value;
  if (Object.keys(testMap).length === 0) {
    ctx.report('invalid_condition', at, `no test given for "${key}"`, OPERATOR_HINT);
    return undefined;
  }
  let failed = false;
  if (caseMode !== undefined && !(CASE_MODES as readonly unknown[]).includes(caseMode)) {
    ctx.report('invalid_case', [...at, 'case'], `"case" is insensitive or sensitive, got ${describeValue(caseMode)}`, CASE_HINT);
    failed = true;
  }
  const notText = Object.keys(testMap).filter((op) => OPERATOR_SET.has(op) && !TEXT_OPERATOR_SET.has(op));
  if (caseMode !== undefined && notText.length > 0) {
    ctx.report('invalid_case', [...at, 'case'], `"case" applies to text tests, not to ${notText.map((op) => `"${op}"`).join(', ')}`, CASE_HINT, 'key');
    failed = true;
  }
  const ignoreCase = caseMode === 'insensitive' || (caseMode === undefined && isEmailPath(key));
  const tests: Condition[] = [];
  for (const [op, operand] of Object.entries(testMap)) {
    if (!OPERATOR_SET.has(op)) {
      ctx.report('unknown_operator', [...at, op], `unknown operator "${op}"${didYouMean(op, OPERATORS)}`, OPERATOR_HINT, 'key');
      failed = true;
      continue;
    }
    const test = withCase(compileTest(key, op as Operator, operand, [...at, op], ctx), ignoreCase);
    if (test === undefined) failed = true;
    else tests.push(test);
  }
  if (failed) return undefined;
  return tests.length === 1 ? tests[0] : { all: tests };
}

const TEXT_OPERATOR_SET: ReadonlySet<string> = new Set(TEXT_OPERATORS);
const CASE_HINT = `case: insensitive makes ${TEXT_OPERATORS.join(', ')} ignore upper/lower case, e.g. { profile.plan: { eq: VIP, case: insensitive } }`;

/** Email addresses compare without regard to case wherever they are read: paths ending in email. */
function isEmailPath(path: string): boolean {
  return /(?:^|[._-])email$/i.test(path);
}

function scopedRoots(ctx: ConditionContext): ScopedRoots {
  return { event: ctx.allowEvent, received: ctx.allowReceived === true, events: ctx.audiences !== undefined };
}

/**
 * `in_audience: <id>` becomes the audience's own condition, inlined: a plan carries everything it
 * decides with, so a deployed version keeps the audience as it was when it was compiled.
 */
function compileInAudience(value: unknown, at: YamlPath, ctx: ConditionContext): Condition | undefined {
  const audiences = ctx.audiences;
  if (!audiences) {
    ctx.report('in_audience_not_here_yet', at, "in_audience is read in audiences, a trigger's where and if steps, not here yet", NOT_YET_HINT, 'key');
    return undefined;
  }
  if (typeof value !== 'string' || !KEBAB_RE.test(value)) {
    ctx.report('invalid_in_audience', at, `in_audience takes an audience id, got ${describeValue(value)}`, 'e.g. in_audience: lapsed-customers (the file definitions/audiences/lapsed-customers.yaml)');
    return undefined;
  }
  const found = audiences.find(value);
  if (found === undefined) {
    const known = audiences.known();
    ctx.report(
      'unknown_audience',
      at,
      `unknown audience "${value}"${didYouMean(value, known)}`,
      known.length > 0 ? `audiences are the files in definitions/audiences/; known: ${listOf(known)}` : 'add definitions/audiences/<id>.yaml with audience: <id> and where:',
    );
    return undefined;
  }
  if ('cycle' in found) {
    ctx.report('audience_cycle', at, `audiences refer to each other in a circle: ${found.cycle.join(' → ')}`, 'an audience cannot contain itself; remove one of the in_audience tests');
    return undefined;
  }
  return 'failed' in found ? undefined : structuredClone(found.condition);
}

/**
 * The condition of the audience named at `at` (a trigger's `audience:`), inlined as `in_audience`
 * inlines it, with the same errors for an unknown id; undefined when it has errors.
 */
export function audienceCondition(id: unknown, at: YamlPath, audiences: AudienceLookup, report: ConditionContext['report']): Condition | undefined {
  return compileInAudience(id, at, { allowEvent: false, audiences, report });
}

/** Marks a compiled text test as case-insensitive; plans only carry the flag where it is set. */
function withCase(test: Condition | undefined, ignoreCase: boolean): Condition | undefined {
  if (!ignoreCase || test === undefined || !('op' in test) || !TEXT_OPERATOR_SET.has(test.op)) return test;
  return { ...test, ignoreCase: true };
}

function compileTest(path: string, op: Operator, operand: unknown, at: YamlPath, ctx: ConditionContext): Condition | undefined {
  const fail = (message: string, hint: string): undefined => {
    ctx.report('invalid_operand', at, message, hint);
    return undefined;
  };
  const expressionsOk = (v: unknown): boolean => {
    if (typeof v !== 'string') return true;
    const bad = checkExpressions(v, scopedRoots(ctx));
    if (bad) ctx.report(bad.code, at, bad.message, bad.hint);
    return bad === undefined;
  };
  const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if (consentReadOf(path)) return compileConsentTest(path, op, operand, fail);
  const aggregate = parseAggregatePath(path);
  if (aggregate && !('error' in aggregate) && !aggregateAllows(aggregate.kind, op)) {
    const hint =
      aggregate.kind === 'count'
        ? `${path} is a number (0 when there were none): e.g. { ${path}: { gte: 3 } }`
        : `${path} is the time of that event, missing when there was none: e.g. { ${path}: { before: -60d } } or { ${path}: { exists: false } }`;
    return fail(`"${op}" cannot test ${aggregate.kind === 'count' ? 'a count' : 'an event time'}`, hint);
  }
  switch (op) {
    case 'in':
    case 'nin':
      if (!Array.isArray(operand) || !operand.every(isScalar)) {
        return fail(`"${op}" needs a list of values, got ${describeValue(operand)}`, `e.g. ${op}: [DE, AT, CH]`);
      }
      return operand.every(expressionsOk) ? { path, op, value: operand } : undefined;
    case 'exists':
      if (typeof operand !== 'boolean') return fail(`"exists" takes true or false, got ${describeValue(operand)}`, 'exists: true (is set) or exists: false (is missing)');
      return { path, op, value: operand };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof operand !== 'number' && typeof operand !== 'string') {
        return fail(`"${op}" compares with a number or text, got ${describeValue(operand)}`, `e.g. ${op}: 20`);
      }
      return expressionsOk(operand) ? { path, op, value: operand } : undefined;
    case 'before':
    case 'after': {
      const dateHint = `an ISO date like "2025-01-31", a duration relative to now like "-30d" (30 days ago), or "{{ profile.some_date }}"`;
      if (typeof operand !== 'string') return fail(`"${op}" takes a date, got ${describeValue(operand)}`, dateHint);
      if (operand.includes('{{')) return expressionsOk(operand) ? { path, op, value: operand } : undefined;
      if (ISO_DATE_RE.test(operand) && !Number.isNaN(Date.parse(operand))) return { path, op, value: operand };
      const rel = parseDuration(operand, true);
      if (rel.ok) return { path, op, value: { relativeMs: rel.ms } };
      return fail(`"${operand}" is neither a date nor a relative duration`, dateHint);
    }
    case 'starts_with':
    case 'ends_with':
      if (typeof operand !== 'string') {
        const example = op === 'starts_with' ? '"+49"' : '"@example.com"';
        return fail(`"${op}" takes text, got ${describeValue(operand)}`, `put quotes around it so it stays text, e.g. ${op}: ${example} (unquoted, +49 would be the number 49)`);
      }
      return expressionsOk(operand) ? { path, op, value: operand } : undefined;
    case 'matches':
      return compileMatches(path, operand, fail, (message, hint) => {
        ctx.report('invalid_pattern', at, message, hint);
        return undefined;
      });
    default:
      if (!isScalar(operand) && !(op === 'eq' || op === 'ne')) {
        return fail(`"${op}" takes a single value, got ${describeValue(operand)}`, `e.g. ${op}: do-not-disturb`);
      }
      if (Array.isArray(operand) || isMap(operand)) {
        return fail(`"${path}" is compared with ${describeValue(operand)}; use "in" to match one of several values`, OPERATOR_HINT);
      }
      return expressionsOk(operand) ? { path, op, value: operand } : undefined;
  }
}

const PATTERN_HINT =
  "RE2 syntax, as in most regex tools minus lookaround and backreferences; escape a literal . + ? ( ) [ { with a backslash, in single quotes: matches: '^ord_\\d+$'";

/** A `matches` pattern is compiled here, so a bad one is a validate error and never reaches a customer. */
function compileMatches(
  path: string,
  operand: unknown,
  fail: (message: string, hint: string) => undefined,
  badPattern: (message: string, hint: string) => undefined,
): Condition | undefined {
  if (typeof operand !== 'string') return fail(`"matches" takes a regular expression as text, got ${describeValue(operand)}`, PATTERN_HINT);
  if (operand.includes('{{')) {
    return badPattern(`"matches" takes a fixed pattern; {{ }} expressions are not resolved in it`, 'compare with another value with eq, starts_with, ends_with or contains instead');
  }
  try {
    // Case does not change whether a pattern is valid; without the flag the message quotes it as written.
    compilePattern(operand, false);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/^error parsing regexp: /, '');
    return badPattern(`"${operand}" is not a valid regular expression: ${reason}`, PATTERN_HINT);
  }
  return { path, op: 'matches', value: operand };
}

/** Operators that mean something for a count, and for a first/last time. */
function aggregateAllows(kind: 'count' | 'first_at' | 'last_at', op: Operator): boolean {
  const ops: readonly Operator[] = kind === 'count' ? ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin'] : ['before', 'after', 'exists'];
  return ops.includes(op);
}

const CONSENT_OPERATORS: readonly Operator[] = ['eq', 'ne', 'in', 'nin'];

/** A consent path is one of three states: compared with eq/ne/in/nin and those words only. */
function compileConsentTest(path: string, op: Operator, operand: unknown, fail: (message: string, hint: string) => undefined): Condition | undefined {
  const hint = `${path} is ${CONSENT_STATES.join(', ')} (unknown: the customer said nothing); e.g. { ${path}: subscribed } or { ${path}: { in: [subscribed, unknown] } }`;
  if (!CONSENT_OPERATORS.includes(op)) return fail(`"${op}" cannot test a consent state; use ${CONSENT_OPERATORS.join(', ')}`, hint);
  const values = op === 'in' || op === 'nin' ? operand : [operand];
  if (!Array.isArray(values) || values.length === 0) return fail(`"${op}" needs a list of consent states, got ${describeValue(operand)}`, hint);
  const bad = values.find((v) => !(CONSENT_STATES as readonly unknown[]).includes(v));
  if (bad !== undefined) return fail(`${describeValue(bad)} is not a consent state${typeof bad === 'string' ? didYouMean(bad, CONSENT_STATES) : ''}`, hint);
  return { path, op, value: operand };
}
