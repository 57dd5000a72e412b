/**
 * Evaluation of compiled conditions and `{{ path }}` expressions. Pure and deterministic: it runs
 * inside the workflow sandbox and also in the CLI (to find the entering event in a simulation).
 */
import type { Condition } from '../compiler/plan';

/** The roots a condition or expression may read. */
export interface Scope {
  profile?: Record<string, unknown>;
  trigger?: Record<string, unknown>;
  event?: Record<string, unknown>;
  journey?: Record<string, unknown>;
}

const EXPRESSION = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;
const WHOLE_EXPRESSION = /^\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}$/;

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

/** True when the condition holds for the scope. `nowMs` anchors relative dates like `-30d`. */
export function evaluate(condition: Condition, scope: Scope, nowMs: number): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluate(c, scope, nowMs));
  if ('any' in condition) return condition.any.some((c) => evaluate(c, scope, nowMs));
  if ('not' in condition) return !evaluate(condition.not, scope, nowMs);
  const actual = readPath(scope, condition.path);
  const expected = resolveExpressions(condition.value, scope);
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
  }
}
