import { Liquid } from 'liquidjs';
import type { Report } from './issues';
import type { YamlPath } from './source';

// Parsing only: one shared engine is enough, and it holds no per-template state.
const engine = new Liquid();

/** Reports `invalid_liquid` when `text` does not parse as a Liquid template. */
export function checkLiquid(text: string, path: YamlPath, report: Report): boolean {
  try {
    engine.parse(text);
    return true;
  } catch (e) {
    // liquidjs counts lines and columns inside the template text, not the YAML file; say so.
    const message = (e instanceof Error ? e.message : String(e))
      .split('\n')[0]
      .replace(/, line:(\d+), col:(\d+)$/, ' (line $1, column $2 of the template text)');
    report(
      'invalid_liquid',
      path,
      `Liquid syntax error: ${message}`,
      'close every {{ with }} and every {% if %} / {% for %} with {% endif %} / {% endfor %}',
    );
    return false;
  }
}

/** Checks every text value inside `value` (maps and lists included) as Liquid. */
export function checkLiquidDeep(value: unknown, path: YamlPath, report: Report): boolean {
  if (typeof value === 'string') return checkLiquid(value, path, report);
  let ok = true;
  if (Array.isArray(value)) value.forEach((v, i) => (ok = checkLiquidDeep(v, [...path, i], report) && ok));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) ok = checkLiquidDeep(v, [...path, k], report) && ok;
  }
  return ok;
}
