/**
 * Signed, expiring unsubscribe tokens: one per customer, channel and category, carried in the
 * `List-Unsubscribe` URL of marketing mail (RFC 8058). The token is the only credential the
 * unsubscribe endpoints accept, so everything in it is covered by an HMAC and checked before use.
 *
 * Format: `base64url(JSON payload) + "." + base64url(HMAC-SHA256(secret, <payload part>))`,
 * where the payload is `{"v":1,"c":customerId,"ch":channel,"cat":category,"exp":<unix seconds>}`.
 * The MAC is computed over the encoded payload part exactly as it appears in the token, so no
 * re-encoding ambiguity can make two different payload strings share one signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Shortest accepted signing secret; 32 characters of `openssl rand -hex 32` output is 128 bits. */
export const MIN_UNSUBSCRIBE_SECRET_LENGTH = 32;
/**
 * Longest token issued or accepted. Bounds the work an unauthenticated request can cause, and
 * keeps links under the API's route parameter limit and mail header sizes.
 */
export const MAX_UNSUBSCRIBE_TOKEN_LENGTH = 2048;
/**
 * Suggested link lifetime: 90 days. CAN-SPAM wants an opt-out to keep working for at least 30
 * days after the mail was sent, and people unsubscribe from old mail, so err long.
 */
export const DEFAULT_UNSUBSCRIBE_TTL_MS = 90 * 24 * 60 * 60 * 1000;

/** Version of the payload layout; bump it (and keep verifying the old one) if fields change. */
const TOKEN_VERSION = 1;
/** HMAC-SHA256 output length; a signature part decoding to anything else is malformed. */
const SIGNATURE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whom and what a token unsubscribes, and until when it is honoured. */
export interface UnsubscribeClaims {
  customerId: string;
  channel: string;
  category: string;
  expiresAt: Date;
}

/** Why a token was refused: not a token at all, not signed by us (or altered), or too old. */
export type UnsubscribeTokenFailure = 'malformed' | 'bad_signature' | 'expired';

/** Outcome of `verifyUnsubscribeToken`: the signed claims, or the reason they cannot be trusted. */
export type UnsubscribeTokenResult = ({ ok: true } & UnsubscribeClaims) | { ok: false; reason: UnsubscribeTokenFailure };

/** The JSON inside a token; short keys keep URLs short. */
interface PayloadV1 {
  v: typeof TOKEN_VERSION;
  c: string;
  ch: string;
  cat: string;
  /** Expiry in whole Unix seconds. */
  exp: number;
}

/** Throws unless the secret is long enough to sign tokens; call at start-up to fail early. */
export function assertUnsubscribeSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_UNSUBSCRIBE_SECRET_LENGTH) {
    // A short secret could be brute-forced offline from any one link, after which anyone could
    // unsubscribe (or resubscribe) anyone: refuse rather than sign weakly.
    throw new Error(
      `the unsubscribe secret must be at least ${MIN_UNSUBSCRIBE_SECRET_LENGTH} characters: set UNBROKEN_UNSUBSCRIBE_SECRET, e.g. to the output of \`openssl rand -hex 32\``,
    );
  }
}

/**
 * Creates a token for the claims. The expiry is rounded down to the whole second, so a token
 * never lives longer than asked.
 */
export function createUnsubscribeToken(claims: UnsubscribeClaims, secret: string): string {
  assertUnsubscribeSecret(secret);
  for (const field of ['customerId', 'channel', 'category'] as const) {
    if (typeof claims[field] !== 'string' || claims[field] === '') throw new Error(`unsubscribe token: ${field} must be a non-empty string`);
  }
  const expiresMs = claims.expiresAt.getTime();
  if (!Number.isFinite(expiresMs)) throw new Error('unsubscribe token: expiresAt is not a valid date');
  const payload: PayloadV1 = {
    v: TOKEN_VERSION,
    c: claims.customerId,
    ch: claims.channel,
    cat: claims.category,
    exp: Math.floor(expiresMs / 1000),
  };
  const payloadPart = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const token = `${payloadPart}.${sign(payloadPart, secret).toString('base64url')}`;
  if (token.length > MAX_UNSUBSCRIBE_TOKEN_LENGTH) {
    // Verification would refuse it; better to fail the send loudly than mail a dead link.
    throw new Error(`unsubscribe token would be ${token.length} characters (limit ${MAX_UNSUBSCRIBE_TOKEN_LENGTH}); the customer id or category is too long`);
  }
  return token;
}

/**
 * Checks a token's shape, then its signature (constant time), and only then reads the payload
 * and its expiry. A token expiring exactly at `now` is expired.
 */
export function verifyUnsubscribeToken(token: string, secret: string, now: Date): UnsubscribeTokenResult {
  assertUnsubscribeSecret(secret);
  if (typeof token !== 'string' || token.length > MAX_UNSUBSCRIBE_TOKEN_LENGTH) return fail('malformed');
  const parts = token.split('.');
  if (parts.length !== 2) return fail('malformed');
  const [payloadPart, signaturePart] = parts;
  if (!BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return fail('malformed');

  const given = Buffer.from(signaturePart, 'base64url');
  // Node's decoder ignores stray trailing bits, so several strings decode to one signature;
  // demanding the canonical spelling keeps exactly one valid string per token.
  if (given.length !== SIGNATURE_BYTES || given.toString('base64url') !== signaturePart) return fail('malformed');
  // Lengths are equal here, so timingSafeEqual compares every byte without throwing.
  if (!timingSafeEqual(given, sign(payloadPart, secret))) return fail('bad_signature');

  // Past this point the payload is ours; a bad shape means another version or a bug, not an attack.
  const payload = parsePayload(payloadPart);
  if (payload === undefined) return fail('malformed');
  const expiresAt = new Date(payload.exp * 1000);
  if (now.getTime() >= expiresAt.getTime()) return fail('expired');
  return { ok: true, customerId: payload.c, channel: payload.ch, category: payload.cat, expiresAt };
}

/**
 * Builds `DeliveryPolicy.unsubscribeUrl`: each call mints a token valid for `ttlMs` from `now()`
 * and returns `${baseUrl}/unsubscribe/<token>`. `baseUrl` is the API's public address
 * (`UNBROKEN_PUBLIC_URL`), path prefix included.
 */
export function unsubscribePolicyUrl(
  baseUrl: string,
  secret: string,
  ttlMs: number,
  now: () => Date = () => new Date(),
): (customerId: string, channel: string, category: string) => string {
  // Checked once here so a misconfiguration stops the worker at start, not at the first send.
  assertUnsubscribeSecret(secret);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`unsubscribe link lifetime must be a positive number of milliseconds, got ${ttlMs}`);
  const base = parseBaseUrl(baseUrl);
  return (customerId, channel, category) => {
    const expiresAt = new Date(now().getTime() + ttlMs);
    // Tokens are base64url plus '.', all URL-safe, so no encoding is needed.
    return `${base}/unsubscribe/${createUnsubscribeToken({ customerId, channel, category, expiresAt }, secret)}`;
  };
}

function sign(payloadPart: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(payloadPart, 'utf8').digest();
}

function fail(reason: UnsubscribeTokenFailure): UnsubscribeTokenResult {
  return { ok: false, reason };
}

function parsePayload(payloadPart: string): PayloadV1 | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (p.v !== TOKEN_VERSION) return undefined;
  if (!isNonEmptyString(p.c) || !isNonEmptyString(p.ch) || !isNonEmptyString(p.cat)) return undefined;
  if (typeof p.exp !== 'number' || !Number.isSafeInteger(p.exp)) return undefined;
  return { v: TOKEN_VERSION, c: p.c, ch: p.ch, cat: p.cat, exp: p.exp };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
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
