/**
 * `trigger.key`: the value that makes a run "one per customer and thing" (a cart, an order, a
 * booking). Checked here so that only a value the entering event itself carries can become a key.
 */
import { checkPath } from './conditions';
import { describeValue } from './durations';
import type { Report } from './issues';

const HINT = 'write one quoted expression over the entering event, e.g. key: "{{ trigger.properties.cart_id }}"';

/**
 * Compiles `trigger.key` to the dotted path it reads (`trigger.properties.cart_id`). Only
 * `trigger.*` is allowed: the profile changes while runs are inside, so a key taken from it would
 * not name one thing for good. Reports and returns undefined when the key is unusable.
 */
export function compileTriggerKey(raw: unknown, report: Report): string | undefined {
  const at = ['trigger', 'key'];
  if (typeof raw !== 'string' || raw.trim() === '') {
    report('invalid_key', at, `"key" must be a {{ trigger.… }} expression, got ${describeValue(raw)}`, HINT);
    return undefined;
  }
  const whole = /^\{\{\s*([^{}|]*?)\s*\}\}$/.exec(raw.trim());
  if (!whole) {
    report('invalid_key', at, `key "${raw}" must be exactly one {{ trigger.… }} expression, with nothing around it and no filters`, HINT);
    return undefined;
  }
  const path = whole[1];
  const bad = checkPath(path, false);
  if (bad) {
    report(bad.code, at, `key: ${bad.message}`, HINT);
    return undefined;
  }
  if (!path.startsWith('trigger.')) {
    report(
      'invalid_key',
      at,
      `key "${raw}" reads ${path.split('.')[0]}.*; a key may only read the entering event (trigger.*)`,
      `the key names what a run is about and must not change while it runs; ${HINT}`,
    );
    return undefined;
  }
  return path;
}
