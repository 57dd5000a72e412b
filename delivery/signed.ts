/**
 * Signed, expiring link tokens: the one signing scheme behind unsubscribe links (`tokens.ts`)
 * and survey links (`survey-tokens.ts`). A token is the only credential the public endpoints
 * accept, so everything in it is covered by an HMAC and checked before use.
 *
 * Format: `base64url(JSON payload) + "." + base64url(HMAC-SHA256(secret, <payload part>))`.
 * The MAC is computed over the encoded payload part exactly as it appears in the token, so no
 * re-encoding ambiguity can make two different payload strings share one signature. Each kind
 * of token carries its own `v` value, and each reader demands its own, so a token of one kind is
 * never accepted as another although both share the secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Shortest accepted signing secret; 32 characters of `openssl rand -hex 32` output is 128 bits. */
export const MIN_SIGNING_SECRET_LENGTH = 32;
/**
 * Longest token issued or accepted. Bounds the work an unauthenticated request can cause, and
 * keeps links under the API's route parameter limit and mail header sizes.
 */
export const MAX_SIGNED_TOKEN_LENGTH = 2048;

/** HMAC-SHA256 output length; a signature part decoding to anything else is malformed. */
const SIGNATURE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Why a token was refused: not a token at all, not signed by us (or altered), or too old. */
export type SignedTokenFailure = 'malformed' | 'bad_signature' | 'expired';

/** Outcome of `openSignedToken`: the JSON payload a secret holder signed, or why it is not one. */
export type OpenedToken = { ok: true; payload: unknown } | { ok: false; reason: Exclude<SignedTokenFailure, 'expired'> };

/** Throws unless the secret is long enough to sign tokens; call at start-up to fail early. */
export function assertSigningSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SIGNING_SECRET_LENGTH) {
    // A short secret could be brute-forced offline from any one link, after which anyone could
    // forge any link (unsubscribe anyone, answer any survey): refuse rather than sign weakly.
    throw new Error(
      `the unsubscribe secret must be at least ${MIN_SIGNING_SECRET_LENGTH} characters: set UNBROKEN_UNSUBSCRIBE_SECRET, e.g. to the output of \`openssl rand -hex 32\``,
    );
  }
}

/**
 * Signs a payload; `what` names the token kind in the error when the result would be longer than
 * any reader accepts (better to fail the send loudly than mail a dead link).
 */
export function signToken(payload: object, secret: string, what: string): string {
  assertSigningSecret(secret);
  const payloadPart = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const token = `${payloadPart}.${sign(payloadPart, secret).toString('base64url')}`;
  if (token.length > MAX_SIGNED_TOKEN_LENGTH) {
    throw new Error(`${what} token would be ${token.length} characters (limit ${MAX_SIGNED_TOKEN_LENGTH}); its ids are too long`);
  }
  return token;
}

/**
 * Checks a token's shape, then its signature (constant time), and only then parses the payload.
 * The payload's shape and expiry are the caller's to check.
 */
export function openSignedToken(token: string, secret: string): OpenedToken {
  assertSigningSecret(secret);
  if (typeof token !== 'string' || token.length > MAX_SIGNED_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [payloadPart, signaturePart] = parts;
  if (!BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return { ok: false, reason: 'malformed' };

  const given = Buffer.from(signaturePart, 'base64url');
  // Node's decoder ignores stray trailing bits, so several strings decode to one signature;
  // demanding the canonical spelling keeps exactly one valid string per token.
  if (given.length !== SIGNATURE_BYTES || given.toString('base64url') !== signaturePart) return { ok: false, reason: 'malformed' };
  // Lengths are equal here, so timingSafeEqual compares every byte without throwing.
  if (!timingSafeEqual(given, sign(payloadPart, secret))) return { ok: false, reason: 'bad_signature' };

  try {
    return { ok: true, payload: JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** A token's `exp` field: the expiry in whole Unix seconds, rounded down so a token never lives longer than asked. */
export function expirySeconds(expiresAt: Date, what: string): number {
  const expiresMs = expiresAt.getTime();
  if (!Number.isFinite(expiresMs)) throw new Error(`${what} token: expiresAt is not a valid date`);
  return Math.floor(expiresMs / 1000);
}

/** Whether a token expiring at `exp` (Unix seconds) is dead at `now`; one expiring exactly at `now` is. */
export function isExpired(exp: number, now: Date): boolean {
  return now.getTime() >= exp * 1000;
}

/**
 * Verifies a token of one kind: its shape and signature (constant time), then `parse` reads the
 * payload (undefined: another kind or version, or a bug — not an attack, the signature held),
 * and only then the expiry. A token expiring exactly at `now` is expired.
 */
export function verifySigned<P extends { exp: number }>(
  token: string,
  secret: string,
  now: Date,
  parse: (payload: unknown) => P | undefined,
): { ok: true; payload: P; expiresAt: Date } | { ok: false; reason: SignedTokenFailure } {
  const opened = openSignedToken(token, secret);
  if (!opened.ok) return opened;
  const payload = parse(opened.payload);
  if (payload === undefined) return { ok: false, reason: 'malformed' };
  if (isExpired(payload.exp, now)) return { ok: false, reason: 'expired' };
  return { ok: true, payload, expiresAt: new Date(payload.exp * 1000) };
}

/** A signed payload read as a record, or undefined for anything else (an array, null, a number). */
export function asRecord(payload: unknown): Record<string, unknown> | undefined {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
}

/** Whether a payload field is a non-empty string. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Whether a payload field is a whole number of seconds, as `exp` is. */
export function isWholeSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * Checks what every link builder needs before its first link: the secret, a positive lifetime
 * and the public URL, so a misconfiguration stops the worker at start, not at the first send.
 * Returns the base URL ready to append a path to.
 */
export function linkBase(baseUrl: string, secret: string, ttlMs: number, what: string): string {
  assertSigningSecret(secret);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`${what} link lifetime must be a positive number of milliseconds, got ${ttlMs}`);
  return parseBaseUrl(baseUrl);
}

/** An absolute http(s) URL without query, fragment or trailing slash, ready to append a path to. */
export function parseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`the public URL must be absolute, like https://mail.example.com; got ${JSON.stringify(baseUrl)} (set UNBROKEN_PUBLIC_URL)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the public URL must use http or https; got ${JSON.stringify(baseUrl)}`);
  if (url.search !== '' || url.hash !== '') throw new Error(`the public URL must not have a query or fragment; got ${JSON.stringify(baseUrl)}`);
  return url.href.replace(/\/+$/, '');
}

function sign(payloadPart: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(payloadPart, 'utf8').digest();
}
