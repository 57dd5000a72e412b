import { liquidEngines, liquidParseProblem } from '../templating/liquid';
import type { Report } from './issues';
import type { YamlPath } from './source';

/**
 * Reports why `text` cannot be rendered: `invalid_liquid` for a syntax error, `liquid_too_long`
 * past the sender's parse limit. Parses with the sender's own engine, so what passes here renders.
 */
export function checkLiquid(text: string, path: YamlPath, report: Report): boolean {
  const problem = liquidParseProblem(text);
  if (!problem) return true;
  if (problem.kind === 'too_long') {
    report(
      'liquid_too_long',
      path,
      `text is ${grouped(problem.length)} characters long, over the sender's limit of ${grouped(problem.limit)} for text with Liquid in it; every send would fail as a template error`,
      `shorten it to at most ${grouped(problem.limit)} characters, or move long content to a page the message links to`,
    );
    return false;
  }
  // liquidjs counts lines and columns inside the template text, not the YAML file; say so.
  const message = problem.message.split('\n')[0].replace(/, line:(\d+), col:(\d+)$/, ' (line $1, column $2 of the template text)');
  report(
    'invalid_liquid',
    path,
    `Liquid syntax error: ${message}`,
    'close every {{ with }} and every {% if %} / {% for %} with {% endif %} / {% endfor %}',
  );
  return false;
}

const grouped = (n: number) => n.toLocaleString('en-US');

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

/** True when Liquid anywhere in `value` (maps and lists included) reads a variable under `root`. */
export function readsRoot(value: unknown, root: string): boolean {
  if (typeof value === 'string') {
    if (!value.includes(root)) return false;
    try {
      return liquidEngines.text.globalVariableSegmentsSync(liquidEngines.text.parse(value)).some((segments) => segments[0] === root);
    } catch {
      return false; // text that does not parse is reported as invalid_liquid
    }
  }
  if (Array.isArray(value)) return value.some((v) => readsRoot(v, root));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((v) => readsRoot(v, root));
  return false;
}
