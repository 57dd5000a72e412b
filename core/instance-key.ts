/**
 * Trigger keys (`trigger.key`): the value that makes runs "one per customer and thing". Canonical
 * at the door: the router, `simulate` and the store all compare the text this module makes.
 */
import type { TrackEvent } from '../compiler/plan';
import { readPath } from './conditions';

/** Longest key kept; ids longer than this are almost certainly not ids (a whole payload, a URL). */
export const MAX_INSTANCE_KEY_LENGTH = 200;

/** A key read from an event: its canonical text, or why there is none. */
export type InstanceKey = { ok: true; key: string } | { ok: false; reason: string };

/**
 * Reads the key `path` (`trigger.properties.cart_id`) from `event`, read as the trigger. Text is
 * trimmed and NFC-normalised, a finite number becomes its decimal text (so 42 and "42" are one
 * cart); anything else (missing, empty, a map, a list, true/false) is no key, with the reason.
 */
export function instanceKeyOf(path: string, event: Pick<TrackEvent, 'event' | 'properties'> & Partial<TrackEvent>): InstanceKey {
  const value = readPath({ trigger: event as unknown as Record<string, unknown> }, path);
  const where = `trigger.key {{ ${path} }} of the "${event.event}" event`;
  if (value === undefined || value === null) return { ok: false, reason: `${where} is missing` };
  let text: string;
  if (typeof value === 'string') text = value.normalize('NFC').trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return { ok: false, reason: `${where} is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not text or a number` };
  if (text === '') return { ok: false, reason: `${where} is empty` };
  if (text.length > MAX_INSTANCE_KEY_LENGTH) return { ok: false, reason: `${where} is longer than ${MAX_INSTANCE_KEY_LENGTH} characters` };
  return { ok: true, key: text };
}

/**
 * A short, stable stand-in for a key in workflow ids (which show up in the Temporal UI and logs):
 * a key may be an e-mail address or an order number nobody should read there. 48 bits of two
 * FNV-1a hashes, as 12 hex digits; a collision only makes two ids look alike, because the entry
 * number after it keeps every workflow id unique.
 */
export function instanceKeyHash(key: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (a & 0xff), 0x01000193) >>> 0;
  }
  return (a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')).slice(0, 12);
}
