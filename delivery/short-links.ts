/**
 * Short unsubscribe links for SMS: `<public url>/u/<code>`, where the code is 10 random base62
 * characters (about 59.5 bits) kept in the store with the customer, channel and category it acts
 * on and when it expires. The signed link (`tokens.ts`) is about 170 characters, more than a whole
 * SMS segment; this one is about 35. The price: the code is a stored random secret rather than a
 * self-contained signed token, so the API needs the store to resolve it, and the store's rows
 * are credentials (see docs/unsubscribe.md).
 */
import { randomInt } from 'node:crypto';
import type { UnsubscribeCode } from '../profiles/store';
import { parseBaseUrl, type UnsubscribeClaims } from './tokens';

/** Characters of a code: digits and both cases of the Latin letters, all safe in a URL path. */
export const SHORT_CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Characters in a code: 62^10 ≈ 2^59.5 possibilities, far beyond guessing at any request rate. */
export const SHORT_CODE_LENGTH = 10;

const SHORT_CODE = new RegExp(`^[0-9A-Za-z]{${SHORT_CODE_LENGTH}}$`);

/** A fresh random code, drawn uniformly from node:crypto (never in workflow code). */
export function newShortCode(): string {
  let code = '';
  // randomInt rejects biased draws itself, so every character is uniform over the alphabet.
  for (let i = 0; i < SHORT_CODE_LENGTH; i += 1) code += SHORT_CODE_ALPHABET[randomInt(SHORT_CODE_ALPHABET.length)];
  return code;
}

/** Whether a string has the shape of a code; anything else is refused before the store is asked. */
export function isShortCode(value: unknown): value is string {
  return typeof value === 'string' && SHORT_CODE.test(value);
}

/** What `DeliveryPolicy.shortUnsubscribe` offers the send activity. */
export interface ShortUnsubscribeLinks {
  /** The link for a code: `<public url>/u/<code>`. */
  url(code: string): string;
  /** When a code made `at` (default: now) was created and stops working: the signed link's lifetime from then. */
  lifetime(at?: Date): { createdAt: string; expiresAt: string };
}

/**
 * Builds `DeliveryPolicy.shortUnsubscribe` from the API's public address (`UNBROKEN_PUBLIC_URL`)
 * and the same lifetime as the signed link (`UNBROKEN_UNSUBSCRIBE_TTL`).
 */
export function shortUnsubscribeLinks(baseUrl: string, ttlMs: number, now: () => Date = () => new Date()): ShortUnsubscribeLinks {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`unsubscribe link lifetime must be a positive number of milliseconds, got ${ttlMs}`);
  const base = parseBaseUrl(baseUrl);
  return {
    url(code) {
      if (!isShortCode(code)) throw new Error(`not a short unsubscribe code: ${JSON.stringify(code)}`);
      return `${base}/u/${code}`;
    },
    lifetime(at) {
      const created = (at ?? now()).getTime();
      return { createdAt: new Date(created).toISOString(), expiresAt: new Date(created + ttlMs).toISOString() };
    },
  };
}

/** Why a code was refused: not a code at all, never issued, or too old. */
export type ShortCodeFailure = 'malformed' | 'unknown' | 'expired';

/** Outcome of `resolveShortCode`: what the code acts on, or why it does not. */
export type ShortCodeResult = ({ ok: true } & UnsubscribeClaims) | { ok: false; reason: ShortCodeFailure };

/**
 * Checks a code's shape, then looks it up, then its expiry (a code expiring exactly at `now` is
 * expired, as a token is). The lookup runs only for well-formed codes.
 */
export async function resolveShortCode(
  code: string,
  lookup: (code: string) => Promise<UnsubscribeCode | undefined>,
  now: Date,
): Promise<ShortCodeResult> {
  if (!isShortCode(code)) return { ok: false, reason: 'malformed' };
  const stored = await lookup(code);
  if (stored === undefined) return { ok: false, reason: 'unknown' };
  const expiresAt = new Date(stored.expiresAt);
  if (!(now.getTime() < expiresAt.getTime())) return { ok: false, reason: 'expired' };
  return { ok: true, customerId: stored.customerId, channel: stored.channel, category: stored.category, expiresAt };
}
