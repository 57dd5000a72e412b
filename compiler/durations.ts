import { closest } from './suggest';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION_RE = /^([+-])?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** The smallest and largest wait the language allows. */
export const MIN_WAIT_MS = UNIT_MS.s;
export const MAX_WAIT_MS = 400 * UNIT_MS.d;

/** Pattern for the JSON Schema: what an editor accepts as a duration. */
export const DURATION_PATTERN = '^(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?$';
/** Same, with an optional sign (offsets, relative dates). */
export const SIGNED_DURATION_PATTERN = '^[+-]?(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?$';

export type DurationResult =
  | { ok: true; ms: number }
  | { ok: false; code: 'duration_without_unit' | 'invalid_duration'; message: string; hint: string };

const UNIT_HINT = 'write a number followed by a unit (s, m, h, d, w), largest unit first, e.g. "30m", "2d" or "1d12h"';

const UNIT_WORDS: Record<string, string> = {
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
  w: 'w', wk: 'w', wks: 'w', week: 'w', weeks: 'w',
};

/** Parses `1d12h`-style text to milliseconds; `signed` allows a leading `-`/`+` (offsets, relative dates). */
export function parseDuration(raw: unknown, signed = false): DurationResult {
  if (typeof raw === 'number' || (typeof raw === 'string' && /^[+-]?\d+(\.\d+)?$/.test(raw.trim()))) {
    return {
      ok: false,
      code: 'duration_without_unit',
      message: `${String(raw)} is a bare number, not a duration`,
      hint: `add a unit so the length is unambiguous: "${String(raw).trim()}m" is minutes, "${String(raw).trim()}d" days (s, m, h, d, w)`,
    };
  }
  if (typeof raw !== 'string') {
    return { ok: false, code: 'invalid_duration', message: `expected a duration like "1h", got ${describeValue(raw)}`, hint: UNIT_HINT };
  }
  const m = DURATION_RE.exec(raw.trim());
  if (!m || raw.trim().replace(/^[+-]/, '') === '' || (m[1] !== undefined && !signed)) {
    const guess = guessDuration(raw, signed);
    const suffix = guess ? ` (did you mean "${guess}"?)` : '';
    const why = m && m[1] !== undefined && !signed ? ' (it cannot be negative here)' : '';
    return { ok: false, code: 'invalid_duration', message: `"${raw}" is not a duration${why}${suffix}`, hint: UNIT_HINT };
  }
  const [, sign, w, d, h, min, s] = m;
  const ms =
    Number(w ?? 0) * UNIT_MS.w +
    Number(d ?? 0) * UNIT_MS.d +
    Number(h ?? 0) * UNIT_MS.h +
    Number(min ?? 0) * UNIT_MS.m +
    Number(s ?? 0) * UNIT_MS.s;
  return { ok: true, ms: sign === '-' ? -ms : ms };
}

/** Turns common spellings ("2 days", "1 hour 30 mins") into the compact form, when that parses. */
function guessDuration(raw: string, signed: boolean): string | undefined {
  const parts = raw.trim().toLowerCase().match(/([+-]?\d+)\s*([a-z]+)/g);
  if (!parts) return undefined;
  let out = '';
  for (const p of parts) {
    const [, n, word] = /([+-]?\d+)\s*([a-z]+)/.exec(p) ?? [];
    const known = Object.hasOwn(UNIT_WORDS, word ?? '') ? word : closest(word ?? '', Object.keys(UNIT_WORDS));
    const unit = known === undefined ? undefined : UNIT_WORDS[known];
    if (!unit || !n) return undefined;
    out += `${n}${unit[0]}`;
  }
  return out !== raw && parseDuration(out, signed).ok ? out : undefined;
}

/** "a number", "a list", … for messages about a value of the wrong shape. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'boolean') return String(v);
  return `the number ${String(v)}`;
}

/** `2d`, `1h30m` — the compact form of a millisecond count, for messages. */
export function formatDuration(ms: number): string {
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    if (unit === 'w') continue;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out === '' || out === '-' ? '0s' : out;
}
