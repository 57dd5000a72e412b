/**
 * The one Liquid engine configuration. The sender renders with it and the compiler checks with
 * it, so a template that validates is a template the sender can parse. Imports nothing from
 * compiler/ or activities/, so both may depend on it.
 */
import { Liquid } from 'liquidjs';

/**
 * `html` escapes every output value; `url` percent-encodes it as one URL component, so a value
 * cannot add path segments, a query or a fragment (`| raw` opts out); `text` (subjects, text
 * parts, addresses, data) does neither.
 */
export type RenderMode = 'html' | 'text' | 'url';

/**
 * Limits keep one hostile or careless template from stalling a worker: 100k characters is far
 * beyond any real email, 1 s of rendering is generous, and the memory limit stops runaway loops
 * that build huge strings. `parseLimit` counts the characters of one Liquid text.
 */
export const LIQUID_LIMITS = { parseLimit: 100_000, renderLimit: 1_000, memoryLimit: 10_000_000 } as const;

function createEngine(mode: RenderMode): Liquid {
  return new Liquid({
    // A missing variable must be an error, never a silent "Hi ,". `lenientIf` keeps the two
    // places where missing is meaningful working: `{% if profile.vip %}` is false, and
    // `{{ x | default: "..." }}` uses the default. liquidjs only treats `default` as lenient
    // when it is the FIRST filter; the sender's error hint says so.
    strictVariables: true,
    lenientIf: true,
    ownPropertyOnly: true,
    outputEscape: mode === 'html' ? 'escape' : mode === 'url' ? (value: unknown) => encodeURIComponent(String(value)) : undefined,
    // An empty in-memory template map: `{% include %}`/`{% render %}` can never read files.
    templates: {},
    // Dates render in UTC unless the template names a zone (`| date: "%H:%M", profile.timezone`),
    // so output never depends on which machine the worker runs on.
    timezoneOffset: 0,
    ...LIQUID_LIMITS,
  });
}

/** The engine for each mode; all parse the same way and differ only in output escaping. */
export const liquidEngines: Readonly<Record<RenderMode, Liquid>> = { html: createEngine('html'), text: createEngine('text'), url: createEngine('url') };

/** Whether `source` contains Liquid markup; text without any is used as is and never parsed. */
export function hasLiquidMarkup(source: string): boolean {
  return source.includes('{{') || source.includes('{%');
}

/** Why `source` cannot be rendered, found at parse time; undefined when the sender would accept it. */
export type LiquidParseProblem =
  | { kind: 'too_long'; length: number; limit: number }
  | { kind: 'syntax'; message: string };

/**
 * Parses `source` exactly as the sender would before rendering it, and returns what stops it.
 * Text without Liquid markup always passes: the sender sends it without parsing.
 */
export function liquidParseProblem(source: string): LiquidParseProblem | undefined {
  if (!hasLiquidMarkup(source)) return undefined;
  try {
    liquidEngines.text.parse(source);
    return undefined;
  } catch (err) {
    // liquidjs reports the limit as a bare "parse length limit exceeded"; say how long and how much is allowed.
    if (source.length > LIQUID_LIMITS.parseLimit) return { kind: 'too_long', length: source.length, limit: LIQUID_LIMITS.parseLimit };
    return { kind: 'syntax', message: err instanceof Error ? err.message : String(err) };
  }
}
