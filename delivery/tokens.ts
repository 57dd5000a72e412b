/**
 * Signed, expiring unsubscribe tokens: one per customer, channel and category, carried in the
 * `List-Unsubscribe` URL of marketing mail (RFC 8058). Signed as every link token is (`signed.ts`).
 *
 * The payload is `{"v":1,"c":customerId,"ch":channel,"cat":category,"exp":<unix seconds>}`.
 */
import {
  assertSigningSecret,
  asRecord,
  expirySeconds,
  isNonEmptyString,
  isWholeSeconds,
  linkBase,
  MAX_SIGNED_TOKEN_LENGTH,
  MIN_SIGNING_SECRET_LENGTH,
  signToken,
  verifySigned,
  type SignedTokenFailure,
} from './signed';

export { parseBaseUrl } from './signed';

/** Shortest accepted signing secret (shared by every signed link). */
export const MIN_UNSUBSCRIBE_SECRET_LENGTH = MIN_SIGNING_SECRET_LENGTH;
/** Longest token issued or accepted (shared by every signed link). */
export const MAX_UNSUBSCRIBE_TOKEN_LENGTH = MAX_SIGNED_TOKEN_LENGTH;
/**
 * Suggested link lifetime: 90 days. CAN-SPAM wants an opt-out to keep working for at least 30
 * days after the mail was sent, and people unsubscribe from old mail, so err long.
 */
export const DEFAULT_UNSUBSCRIBE_TTL_MS = 90 * 24 * 60 * 60 * 1000;

/**
 * Version of the payload layout; bump it (and keep verifying the old one) if fields change.
 * Other token kinds use other `v` values, so they never read as unsubscribe tokens.
 */
const TOKEN_VERSION = 1;

/** Whom and what a token unsubscribes, and until when it is honoured. */
export interface UnsubscribeClaims {
  customerId: string;
  channel: string;
  category: string;
  expiresAt: Date;
}

/** Why a token was refused: not a token at all, not signed by us (or altered), or too old. */
export type UnsubscribeTokenFailure = SignedTokenFailure;

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
export const assertUnsubscribeSecret: (secret: string) => void = assertSigningSecret;

/**
 * Creates a token for the claims. The expiry is rounded down to the whole second, so a token
 * never lives longer than asked.
 */
export function createUnsubscribeToken(claims: UnsubscribeClaims, secret: string): string {
  assertSigningSecret(secret);
  for (const field of ['customerId', 'channel', 'category'] as const) {
    if (!isNonEmptyString(claims[field])) throw new Error(`unsubscribe token: ${field} must be a non-empty string`);
  }
  const payload: PayloadV1 = {
    v: TOKEN_VERSION,
    c: claims.customerId,
    ch: claims.channel,
    cat: claims.category,
    exp: expirySeconds(claims.expiresAt, 'unsubscribe'),
  };
  return signToken(payload, secret, 'unsubscribe');
}

/**
 * Checks a token's shape, then its signature (constant time), and only then reads the payload
 * and its expiry. A token expiring exactly at `now` is expired.
 */
export function verifyUnsubscribeToken(token: string, secret: string, now: Date): UnsubscribeTokenResult {
  const verified = verifySigned(token, secret, now, parsePayload);
  if (!verified.ok) return verified;
  const { payload: p, expiresAt } = verified;
  return { ok: true, customerId: p.c, channel: p.ch, category: p.cat, expiresAt };
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
): (customerId: string, channel: string, category: string, at?: Date) => string {
  const base = linkBase(baseUrl, secret, ttlMs, 'unsubscribe');
  return (customerId, channel, category, at) => {
    const expiresAt = new Date((at ?? now()).getTime() + ttlMs);
    // Tokens are base64url plus '.', all URL-safe, so no encoding is needed.
    return `${base}/unsubscribe/${createUnsubscribeToken({ customerId, channel, category, expiresAt }, secret)}`;
  };
}

function parsePayload(value: unknown): PayloadV1 | undefined {
  const p = asRecord(value);
  if (p === undefined || p.v !== TOKEN_VERSION) return undefined;
  if (!isNonEmptyString(p.c) || !isNonEmptyString(p.ch) || !isNonEmptyString(p.cat)) return undefined;
  if (!isWholeSeconds(p.exp)) return undefined;
  return { v: TOKEN_VERSION, c: p.c, ch: p.ch, cat: p.cat, exp: p.exp };
}
