import type { Template } from 'liquidjs';
import type { TrackEvent } from '../compiler/plan';
import type { Profile } from '../profiles/store';
import { dropUnsafeLinks } from '../templating/links';
import { hasLiquidMarkup, liquidEngines, type RenderMode } from '../templating/liquid';
import type { JourneyContext } from './types';

/** Everything a template may read: `profile`, `trigger`, `journey`, `data`, `now`, and `received` once a wait_for received an event. */
export interface RenderContext {
  profile: Profile;
  trigger: TrackEvent;
  journey: { id: string; version: string; entered_at: string };
  data: Record<string, unknown>;
  now: string;
  /** Absent until a `wait_for` received an event: `{{ received.x }}` is then a missing variable. */
  received?: TrackEvent;
}

// The engine and its modes live in templating/, so the compiler checks with the engine that renders.
export type { RenderMode } from '../templating/liquid';

/** Where a rendered string comes from, for error messages: template id and part. */
export interface RenderSource {
  template: string;
  part: string;
  /** Replaces "template <id>" in messages when the source is not a template (e.g. a step). */
  label?: string;
}

/** A template that cannot be rendered: a missing variable, a syntax error, or a limit hit. */
export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';

  constructor(
    message: string,
    readonly template: string,
    readonly part: string,
    /** The dotted variable that was missing, when that was the cause. */
    readonly variable?: string,
  ) {
    super(message);
  }
}

// Parsed templates by mode and source. Templates come from a small, deployed set, so the cache
// stays small; the cap only guards against something rendering unbounded distinct sources.
const MAX_CACHED = 1_000;
const parsed = new Map<string, Template[]>();

function parse(source: string, mode: RenderMode): Template[] {
  const key = `${mode}\u0000${source}`;
  let templates = parsed.get(key);
  if (!templates) {
    templates = liquidEngines[mode].parse(source);
    if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value as string);
    parsed.set(key, templates);
  }
  return templates;
}

/** Builds the template context from the fresh profile, the journey and the step's data. */
export function renderContext(
  profile: Profile,
  context: JourneyContext,
  now: string,
  data: Record<string, unknown> = {},
  received?: TrackEvent,
): RenderContext {
  return {
    profile,
    trigger: context.trigger,
    journey: { id: context.journeyId, version: context.version, entered_at: context.enteredAt },
    data,
    now,
    ...(received ? { received } : {}),
  };
}

/**
 * Renders one Liquid source; throws TemplateRenderError naming the missing variable, if any.
 * HTML comes out with every link of an unsafe scheme (`javascript:`, `data:`, …) dropped, whether
 * the author wrote it or a value filled it in (templating/links.ts).
 */
export async function renderTemplate(
  source: string,
  ctx: RenderContext,
  mode: RenderMode,
  where: RenderSource,
): Promise<string> {
  const rendered = await renderLiquid(source, ctx, mode, where);
  return mode === 'html' ? dropUnsafeLinks(rendered) : rendered;
}

async function renderLiquid(source: string, ctx: RenderContext, mode: RenderMode, where: RenderSource): Promise<string> {
  // Nothing to render: skip the engine (and its cache) for plain literals.
  if (!hasLiquidMarkup(source)) return source;
  try {
    return String(await liquidEngines[mode].render(parse(source, mode), { ...ctx }));
  } catch (err) {
    throw toRenderError(err, where);
  }
}

/**
 * Renders every string inside `value` (objects and arrays walked) in text mode. Used for a send
 * step's `data` and for `update_profile` values, where output is data, not HTML.
 */
export async function renderValues<T>(value: T, ctx: RenderContext, where: RenderSource): Promise<T> {
  if (typeof value === 'string') return (await renderTemplate(value, ctx, 'text', where)) as T;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [index, item] of value.entries()) {
      out.push(await renderValues(item, ctx, { ...where, part: `${where.part}[${index}]` }));
    }
    return out as T;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = await renderValues(item, ctx, { ...where, part: `${where.part}.${key}` });
    }
    return out as T;
  }
  return value;
}

function toRenderError(err: unknown, where: RenderSource): TemplateRenderError {
  const variable = missingVariable(err);
  const at = `${where.part} of ${where.label ?? `template ${where.template}`}`;
  if (variable !== undefined) {
    return new TemplateRenderError(
      `missing variable "${variable}" in ${at} (add | default: "..." right after the name, or ${fixFor(variable)})`,
      where.template,
      where.part,
      variable,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TemplateRenderError(`cannot render ${at}: ${message}`, where.template, where.part);
}

function fixFor(variable: string): string {
  const root = variable.split(/[.[]/, 1)[0];
  switch (root) {
    case 'profile':
      return 'set the trait';
    case 'trigger':
      return 'make sure the trigger event carries it';
    case 'data':
      return "add it to the send step's data";
    case 'received':
      return 'check that the wait_for event carries it; received is empty when no wait_for received an event';
    default:
      return 'check the spelling';
  }
}

/** liquidjs wraps its UndefinedVariableError; the inner error carries the variable name. */
function missingVariable(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'UndefinedVariableError') return undefined;
  const inner = (err as Error & { originalError?: { variableName?: unknown } }).originalError;
  if (typeof inner?.variableName === 'string') return inner.variableName;
  return /undefined variable: ([^,]+)/.exec(err.message)?.[1];
}
