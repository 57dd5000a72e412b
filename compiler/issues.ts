import { stringify } from 'yaml';
import { z } from 'zod';
import { describeValue } from './durations';
import type { YamlPath } from './source';
import { didYouMean, listOf } from './suggest';

/** Receives one translated problem; the caller adds file, position and step. */
export type Report = (code: string, path: YamlPath, message: string, hint: string, anchor?: 'key' | 'value') => void;

// The few zod internals needed to walk a schema along a path (for key suggestions and hints).
interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
  in?: z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema itself and everything it wraps (optional, default, lazy, pipe), outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [];
  let s: z.ZodType | undefined = schema;
  while (s && out.length < 10) {
    out.push(s);
    const d = defOf(s);
    s = d.innerType ?? (d.type === 'lazy' && d.getter ? d.getter() : d.type === 'pipe' ? d.in : undefined);
  }
  return out;
}

function child(schema: z.ZodType, seg: string | number): z.ZodType | undefined {
  for (const s of layers(schema)) {
    const d = defOf(s);
    if (d.type === 'object' && typeof seg === 'string') return d.shape?.[seg] ?? d.catchall;
    if (d.type === 'array') return d.element;
    if (d.type === 'record') return d.valueType;
    if (d.type === 'union') {
      for (const o of d.options ?? []) {
        const c = child(o, seg);
        if (c) return c;
      }
    }
  }
  return undefined;
}

/** The sub-schema at `path`, if the schema describes it. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    s = child(s, typeof seg === 'symbol' ? String(seg) : seg);
  }
  return s;
}

/** Keys a strict object at `path` accepts. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(schema, path);
  for (const l of s ? layers(s) : []) {
    const d = defOf(l);
    if (d.type === 'object') return Object.keys(d.shape ?? {});
  }
  return [];
}

/** "What it is, e.g. key: example" from the schema's description and first example. */
export function describeField(schema: z.ZodType | undefined, key: string | undefined): string {
  for (const l of schema ? layers(schema) : []) {
    const meta = z.globalRegistry.get(l);
    if (meta?.description) {
      const ex = Array.isArray(meta.examples) && meta.examples.length > 0 ? meta.examples[0] : undefined;
      const example = ex === undefined ? '' : ` e.g. ${key ? `${key}: ` : ''}${inline(ex)}`;
      return `${meta.description}${example}`;
    }
  }
  return '';
}

function inline(v: unknown): string {
  return stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
};

function valueAt(value: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let v: unknown = value;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, seg)) return { found: false, value: undefined };
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: v };
}

/**
 * Validates `value` against a strict schema and reports each issue in marketer terms
 * (unknown keys with suggestions, missing keys with what they are for). Returns whether it passed.
 */
export function checkShape(
  schema: z.ZodType,
  value: unknown,
  base: YamlPath,
  report: Report,
  opts: { code?: string; prefix?: string; hint?: string } = {},
): boolean {
  const result = schema.safeParse(value);
  if (result.success) return true;
  const prefix = opts.prefix ?? '';
  for (const issue of result.error.issues) {
    const ipath = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const at: YamlPath = [...base, ...ipath];
    const lastKey = [...ipath].reverse().find((p): p is string => typeof p === 'string');
    const name = lastKey === undefined ? 'this' : `"${lastKey}"`;
    // Record entries and list items have no description of their own; the enclosing field's is the next best.
    const field = (key: string | undefined): string => {
      for (let n = ipath.length; n >= 0; n--) {
        const text = describeField(schemaAt(schema, ipath.slice(0, n)), n === ipath.length ? key : undefined);
        if (text !== '') return text;
      }
      return opts.hint ?? '';
    };
    const code = (own: string) => opts.code ?? own;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = keysAt(schema, ipath);
        for (const key of issue.keys) {
          report(code('unknown_key'), [...at, key], `${prefix}unknown key "${key}"${didYouMean(key, allowed)}`, `allowed here: ${listOf(allowed, 20)}`, 'key');
        }
        break;
      }
      case 'invalid_type': {
        const actual = valueAt(value, ipath);
        if (!actual.found || actual.value === undefined) {
          report(code('missing_key'), at, `${prefix}missing required key ${name}`, field(lastKey), 'key');
        } else {
          const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
          report(code('invalid_type'), at, `${prefix}${name} must be ${expected}, got ${describeValue(actual.value)}`, field(lastKey));
        }
        break;
      }
      case 'invalid_value': {
        const options = issue.values.map(String);
        const got = valueAt(value, ipath).value;
        report(
          code('invalid_value'),
          at,
          `${prefix}${describeValue(got)} is not a valid ${name}${didYouMean(String(got), options)}`,
          `one of: ${listOf(options)}`,
        );
        break;
      }
      case 'invalid_format':
        // Our own schemas name the field in their messages; zod's defaults ("Invalid URL") do not.
        report(code('invalid_value'), at, `${prefix}${lastKey && !issue.message.includes(lastKey) ? `${name}: ` : ''}${issue.message}`, field(lastKey));
        break;
      case 'too_small':
      case 'too_big': {
        const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
        const inclusive = issue.inclusive !== false;
        let rule: string;
        if (issue.origin === 'array') rule = `needs ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`;
        else if (issue.origin === 'string') rule = issue.code === 'too_small' ? 'must not be empty' : `must be at most ${bound} characters`;
        else if (issue.code === 'too_small') rule = inclusive ? `must be at least ${bound}` : `must be more than ${bound}`;
        else rule = inclusive ? `must be at most ${bound}` : `must be less than ${bound}`;
        report(code('invalid_value'), at, `${prefix}${name} ${rule}`, field(lastKey));
        break;
      }
      default:
        report(code('invalid_value'), at, `${prefix}${name}: ${issue.message}`, field(lastKey));
    }
  }
  return false;
}
