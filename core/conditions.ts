/**
 * Evaluation of compiled conditions and `{{ path }}` expressions. Pure and deterministic: it runs
 * inside the workflow sandbox and also in the CLI (to find the entering event in a simulation).
 */
import { RE2JS } from './re2';
import type { Condition } from '../compiler/plan';

/** The roots a condition or expression may read. */
export interface Scope {
  profile?: Record<string, unknown>;
  trigger?: Record<string, unknown>;
  event?: Record<string, unknown>;
  journey?: Record<string, unknown>;
  /** The event the latest `wait_for` received; absent until one has received something. */
  received?: Record<string, unknown>;
  /** `consent.<channel>.<category>`: the states the run read from the store (core/consent.ts). */
  consent?: Record<string, Record<string, string>>;
  /** `events.<name>.<aggregate>`: counts and first/last times the caller loaded (core/audiences.ts). */
  events?: Record<string, Record<string, unknown>>;
}

const EXPRESSION = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;
const WHOLE_EXPRESSION = /^\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}$/;

/**
 * Calls `onPath` for every path a set of conditions reads: the path of each test and each
 * `{{ path }}` in its value, through all/any/not. What consent and event-aggregate loading use to
 * know what to fetch before a condition is evaluated.
 */
export function forEachReadPath(conditions: readonly (Condition | undefined)[], onPath: (path: string) => void): void {
  const visitValue = (value: unknown): void => {
    if (typeof value === 'string') for (const m of value.matchAll(EXPRESSION)) onPath(m[1]);
    else if (Array.isArray(value)) value.forEach(visitValue);
  };
  const visit = (c: Condition | undefined): void => {
    if (!c) return;
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else {
      onPath(c.path);
      visitValue(c.value);
    }
  };
  conditions.forEach(visit);
}

/** Reads a dotted path such as `profile.address.city` from the scope. */
export function readPath(scope: Scope, path: string): unknown {
  let current: unknown = scope;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Resolves `{{ path }}` expressions. A string that is exactly one expression keeps the type of
 * the value it names (a number stays a number); otherwise values are joined as text.
 */
export function resolveExpressions(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_EXPRESSION.exec(value);
    if (whole) return readPath(scope, whole[1]);
    return value.replace(EXPRESSION, (_, path: string) => {
      const found = readPath(scope, path);
      return found === undefined || found === null ? '' : String(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveExpressions(v, scope));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveExpressions(v, scope);
    return out;
  }
  return value;
}

/**
 * Resolves `{{ path }}` in a URL so that a value cannot change the URL's structure: each value
 * inserted next to other text is percent-encoded as one component (`../admin`, `a/b`, `?x=`, `#`
 * and spaces stay inside their segment or parameter). A URL that is exactly one expression is
 * the value itself, e.g. a webhook address from a trait; where it may point is checked when it is
 * used, not here.
 */
export function resolveUrlExpressions(url: string, scope: Scope): unknown {
  const whole = WHOLE_EXPRESSION.exec(url);
  if (whole) return readPath(scope, whole[1]);
  return url.replace(EXPRESSION, (_, path: string) => {
    const found = readPath(scope, path);
    return found === undefined || found === null ? '' : encodeURIComponent(String(found));
  });
}

function toTime(value: unknown, nowMs: number): number | undefined {
  if (value !== null && typeof value === 'object' && 'relativeMs' in value) {
    return nowMs + Number((value as { relativeMs: number }).relativeMs);
  }
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || value instanceof Date) {
    const t = new Date(value).getTime();
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Event properties arrive as JSON; "42" from a form and 42 from a cart should compare equal.
  if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number')) {
    return String(a) === String(b);
  }
  return false;
}

function compare(actual: unknown, expected: unknown): number | undefined {
  if (typeof actual === 'number' && typeof expected === 'number') return actual - expected;
  if (typeof actual === 'string' && typeof expected === 'string') {
    const na = Number(actual);
    const nb = Number(expected);
    if (actual.trim() !== '' && expected.trim() !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    return actual < expected ? -1 : actual > expected ? 1 : 0;
  }
  if (typeof actual === 'number' && typeof expected === 'string' && !Number.isNaN(Number(expected))) {
    return actual - Number(expected);
  }
  if (typeof actual === 'string' && typeof expected === 'number' && !Number.isNaN(Number(actual))) {
    return Number(actual) - expected;
  }
  return undefined;
}

/** Text in lower case (lists element by element); other values unchanged. */
function foldCase(value: unknown): unknown {
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) return value.map(foldCase);
  return value;
}

/** The value as text for the string tests: numbers (a zip code stored as 10115) count as their digits. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

// Compiled patterns by flags and source. Journeys hold few distinct patterns; the cap only
// guards against unbounded growth. RE2 matches in time linear in the input, so no text can hang.
const MAX_PATTERNS = 500;
const patterns = new Map<string, RE2JS>();

/** The compiled RE2 pattern; throws on a bad one (the compiler reports those before a plan exists). */
export function compilePattern(source: string, ignoreCase: boolean): RE2JS {
  const key = `${ignoreCase ? 'i' : '-'}${source}`;
  let compiled = patterns.get(key);
  if (!compiled) {
    compiled = RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    if (patterns.size >= MAX_PATTERNS) patterns.delete(patterns.keys().next().value as string);
    patterns.set(key, compiled);
  }
  return compiled;
}

/** True when the condition holds for the scope. `nowMs` anchors relative dates like `-30d`. */
export function evaluate(condition: Condition, scope: Scope, nowMs: number): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluate(c, scope, nowMs));
  if ('any' in condition) return condition.any.some((c) => evaluate(c, scope, nowMs));
  if ('not' in condition) return !evaluate(condition.not, scope, nowMs);
  // Plans compiled before `ignoreCase` existed never carry it, so they compare exactly as before.
  const fold = condition.ignoreCase === true && condition.op !== 'matches';
  const actual = fold ? foldCase(readPath(scope, condition.path)) : readPath(scope, condition.path);
  const expected = fold ? foldCase(resolveExpressions(condition.value, scope)) : resolveExpressions(condition.value, scope);
  switch (condition.op) {
    case 'eq':
      return looseEqual(actual, expected);
    case 'ne':
      return !looseEqual(actual, expected);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const d = compare(actual, expected);
      if (d === undefined) return false;
      return condition.op === 'gt' ? d > 0 : condition.op === 'gte' ? d >= 0 : condition.op === 'lt' ? d < 0 : d <= 0;
    }
    case 'in':
      return Array.isArray(expected) && expected.some((e) => looseEqual(actual, e));
    case 'nin':
      return Array.isArray(expected) && !expected.some((e) => looseEqual(actual, e));
    case 'contains':
      if (Array.isArray(actual)) return actual.some((e) => looseEqual(e, expected));
      if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
      return false;
    case 'exists': {
      const present = actual !== undefined && actual !== null;
      return expected === false ? !present : present;
    }
    case 'before':
    case 'after': {
      const a = toTime(actual, nowMs);
      const b = toTime(expected, nowMs);
      if (a === undefined || b === undefined) return false;
      return condition.op === 'before' ? a < b : a > b;
    }
    case 'starts_with':
    case 'ends_with': {
      const text = asText(actual);
      if (text === undefined || typeof expected !== 'string') return false;
      return condition.op === 'starts_with' ? text.startsWith(expected) : text.endsWith(expected);
    }
    case 'matches': {
      // The pattern is used as written: `{{ }}` is not resolved in it (braces are regex syntax).
      const text = asText(actual);
      if (text === undefined || typeof condition.value !== 'string') return false;
      return compilePattern(condition.value, condition.ignoreCase === true).test(text);
    }
  }
}
