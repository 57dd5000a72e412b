import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { PERMANENT_DELIVERY_ERROR } from '../errors';
import { DeliveryError } from '../mailer';
import type { SimulatedRequest } from '../types';
import { bareHost, checkAddress, DestinationDenied, guardedLookup, type AllowList, type Resolver } from './destination';

/**
 * HTTP delivery shared by every activity that POSTs to someone else's server (`do: http_post`,
 * the webhook channel, the Twilio SMS provider): URL and destination checks, signing, timeouts
 * and the one classification of answers into "done", "retry later" and "never going to work".
 *
 * Classification (see {@link postRequest}):
 * - 2xx: delivered.
 * - a destination in a private, loopback or reserved range (./destination): refused before
 *   connecting, `ApplicationFailure.nonRetryable(..., 'PermanentDeliveryError')`.
 * - 3xx: permanent; redirects are never followed.
 * - 408, 429, 5xx, network errors, timeouts: retryable — a {@link DeliveryError} with
 *   `permanent: false`, or, when a 429/503 carries `Retry-After`, an `ApplicationFailure` with
 *   `nextRetryDelay` so Temporal waits as long as the receiver asked instead of its own backoff.
 * - every other status: `ApplicationFailure.nonRetryable(..., 'PermanentDeliveryError')`.
 */

/** Header carrying `sha256=<hex>` HMAC of the signed string. */
export const SIGNATURE_HEADER = 'X-Unbroken-Signature';

/** Header carrying the Unix time (seconds) that is part of the signed string. */
export const TIMESTAMP_HEADER = 'X-Unbroken-Timestamp';

/** Header the receiver deduplicates on; the same on every retry of one side effect. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Status codes in the 4xx range that mean "try again later", not "your request is wrong". */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 429]);

/** Statuses whose `Retry-After` header is honoured (RFC 6585 §4, RFC 9110 §15.6.4). */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Upper bound on a receiver's `Retry-After`. A journey waits on this step, so a receiver asking
 * for a day must not park the customer for a day; beyond an hour the activity's own backoff
 * and attempt limit decide.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** HMAC-SHA256 of `payload` as `sha256=<hex>`; `payload` is the exact string that was signed. */
export function signBody(secret: string, payload: string): string {
  return `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
}

/**
 * The exact string the timestamped scheme signs: `<X-Unbroken-Timestamp>.<raw body>`, e.g.
 * `1714561200.{"customer":"c1"}`. The timestamp is inside the MAC so a captured request cannot
 * be replayed later with a fresh timestamp.
 */
export function signedString(timestamp: string, body: string): string {
  return `${timestamp}.${body}`;
}

/** Checks a timestamped signature the way a receiver should: constant-time, within `toleranceSec` of `nowMs`. */
export function verifySignature(check: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSec?: number;
  nowMs?: number;
}): boolean {
  const { secret, body, timestamp, signature, toleranceSec = 300, nowMs = Date.now() } = check;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSec) return false;
  const expected = Buffer.from(signBody(secret, signedString(timestamp, body)));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Parses a URL we are about to POST to; anything but plain http(s) without credentials is
 * refused with a non-retryable failure of `failureType`, because no retry can fix it.
 */
export function requireHttpUrl(raw: string, label: string, failureType: string = PERMANENT_DELIVERY_ERROR): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw ApplicationFailure.nonRetryable(`${label}: "${raw}" is not an http(s) URL`, failureType);
  }
  // fetch refuses user:pass@ URLs with a TypeError that would otherwise look like a network
  // error and be retried to exhaustion; credentials belong in headers.
  if (url.username || url.password) {
    throw ApplicationFailure.nonRetryable(`${label}: ${safeTarget(url)} must not carry credentials in the URL`, failureType);
  }
  return url;
}

/** Origin and path of a URL, never its query or credentials: those may carry tokens and end up in Temporal history. */
export function safeTarget(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Where a request may go. URLs that journeys, templates or customer data produce are checked
 * against the private ranges (./destination) with ops' allow list; a URL ops configured
 * themselves (a provider's API base such as TWILIO_BASE_URL) is `trusted` and not checked.
 */
export type Destinations = { trusted: true } | { allow: AllowList; resolve?: Resolver };

/** One POST, as {@link postRequest} sends it. */
export interface HttpRequest {
  url: URL;
  headers: Headers;
  body: string;
  timeoutMs: number;
  /** Names the sender in failure messages, e.g. `http_post`, `webhook`, `twilio`. */
  label: string;
  /**
   * Extra statuses to treat as retryable although they are 4xx — for providers where such an
   * answer is an operator's configuration problem (e.g. Twilio 401), not the message's fault.
   */
  retryableStatuses?: ReadonlySet<number>;
  /** Where the request may go; private and loopback addresses are refused when absent. */
  destinations?: Destinations;
  /**
   * A short, data-free reason read from an error answer (e.g. Twilio's numeric error code); the
   * body itself is never kept, since it may echo personal data.
   */
  failureCode?: (body: string) => string | undefined;
}

/** A 2xx answer: its status and body text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** The most of a 2xx answer's body that is read; providers answer with a few hundred bytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** A raw answer before classification. */
interface RawAnswer {
  status: number;
  retryAfter: string | null;
  /** The body, up to MAX_ANSWER_BYTES; only used for a 2xx or by `failureCode`. */
  text: string;
  /** Size of the body as received. */
  bytes: number;
}

/**
 * POSTs once and classifies the outcome: returns on 2xx, throws a retryable or permanent failure
 * otherwise. Redirects are not followed (a 3xx is permanent): following one would carry the
 * signature and body to a host nobody checked. A failure names the status and the size of the
 * answer, never its body, which could hold anything and would be kept in Temporal's history.
 */
export async function postRequest(req: HttpRequest): Promise<HttpAnswer> {
  const target = safeTarget(req.url);
  const destinations = req.destinations ?? { allow: [] };
  let answer: RawAnswer;
  try {
    if (!('trusted' in destinations)) checkAddressLiteral(req.url, destinations.allow);
    answer = await send(req, destinations);
  } catch (err) {
    if (err instanceof DestinationDenied) {
      throw ApplicationFailure.nonRetryable(`${req.label} to ${target} refused: ${err.message}`, PERMANENT_DELIVERY_ERROR, {
        host: err.host,
        address: err.address,
      });
    }
    // The request may or may not have arrived; a retry is safe because the receiver dedupes
    // on the idempotency key.
    throw new DeliveryError(`${req.label} to ${target} failed: ${networkReason(err, req.timeoutMs)}`, false, undefined, errorCode(err));
  }
  const { status, text } = answer;
  if (status >= 200 && status < 300) return { status, text };

  const code = req.failureCode?.(text);
  const summary = `${req.label} to ${target} answered ${status}${code ? ` (${code})` : ''}${answer.bytes > 0 ? ` (${answer.bytes} bytes not kept)` : ''}`;
  if (status >= 300 && status < 400) {
    throw ApplicationFailure.nonRetryable(`${summary}; redirects are not followed, point the URL at the final address`, PERMANENT_DELIVERY_ERROR, { status });
  }
  if (status >= 500 || RETRYABLE_4XX.has(status) || req.retryableStatuses?.has(status)) {
    const delayMs = RETRY_AFTER_STATUSES.has(status) ? retryAfterMs(answer.retryAfter) : undefined;
    if (delayMs === undefined) throw new DeliveryError(summary, false, status);
    throw ApplicationFailure.create({
      message: `${summary} (retry after ${Math.round(delayMs / 1000)} s)`,
      type: DeliveryError.name,
      nonRetryable: false,
      nextRetryDelay: delayMs,
      details: [{ status, retryAfterMs: delayMs }],
    });
  }
  throw ApplicationFailure.nonRetryable(summary, PERMANENT_DELIVERY_ERROR, { status });
}

/**
 * A URL whose host is an IP address connects without a lookup, so it is checked here. WHATWG
 * URL has already turned `2130706433`, `0x7f.1`, `017700000001` and `127.1` into `127.0.0.1`
 * and `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`.
 */
function checkAddressLiteral(url: URL, allow: AllowList): void {
  const host = bareHost(url.hostname);
  if (isIP(host) !== 0) checkAddress(allow, host, host);
}

/** One POST over node:http(s), connecting only to addresses the guarded lookup checked. */
function send(req: HttpRequest, destinations: Destinations): Promise<RawAnswer> {
  const client = req.url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = {};
  req.headers.forEach((value, name) => (headers[name] = value));
  headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise<RawAnswer>((resolve, reject) => {
    const request = client.request(req.url, {
      method: 'POST',
      headers,
      agent: false,
      ...('trusted' in destinations ? {} : { lookup: guardedLookup(destinations.allow, destinations.resolve) }),
    });
    // One deadline for connecting, sending and reading the answer.
    const timer = setTimeout(() => request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), req.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    request.on('error', fail);
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        const retryAfter = response.headers['retry-after'];
        resolve({ status, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, text: Buffer.concat(chunks).toString('utf8'), bytes });
      });
    });
    request.end(req.body);
  });
}

/** A JSON POST with idempotency key and, when a secret is given, a signature; see {@link postJson}. */
export interface JsonPost {
  url: string;
  /** The exact JSON text to send; it is signed byte for byte as given. */
  body: string;
  /** Extra headers; they may replace `Content-Type`/`User-Agent` but never the idempotency or signature headers. */
  headers?: Record<string, string>;
  timeoutMs: number;
  idempotencyKey: string;
  /** HMAC secret; without it the request goes unsigned. */
  secret?: string;
  /** Names the sender in failure messages. */
  label: string;
  /** Clock for the timestamp, in ms; tests pin it. */
  now?: () => number;
  /** Where the request may go; see {@link Destinations}. */
  destinations?: Destinations;
}

/** A JSON POST built and ready to go: what {@link postJson} sends and a simulation shows. */
export interface PreparedPost {
  url: URL;
  headers: Headers;
  body: string;
}

/**
 * POSTs a JSON body: `Content-Type: application/json`, `Idempotency-Key`, and with a secret
 * `X-Unbroken-Signature` (+ `X-Unbroken-Timestamp`). Failures are classified as in {@link postRequest}.
 */
export async function postJson(post: JsonPost): Promise<HttpAnswer> {
  const { url, headers, body } = jsonRequest(post);
  return postRequest({ url, headers, body, timeoutMs: post.timeoutMs, label: post.label, destinations: post.destinations });
}

/**
 * The request {@link postJson} sends, without sending it: URL checked, headers merged and signed.
 * `simulate` and journey tests show exactly this, so what they print is what a receiver gets.
 */
export function jsonRequest(post: Omit<JsonPost, 'timeoutMs' | 'destinations'>): PreparedPost {
  const url = requireHttpUrl(post.url, post.label);
  let headers: Headers;
  try {
    // A Headers object merges names case-insensitively, so a caller's `content-type` replaces
    // ours instead of being sent twice, and nobody can smuggle in their own signature.
    headers = new Headers({ 'Content-Type': 'application/json', 'User-Agent': 'unbroken' });
    for (const [name, value] of Object.entries(post.headers ?? {})) headers.set(name, value);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${post.label}: invalid request header: ${(err as Error).message}`, PERMANENT_DELIVERY_ERROR);
  }
  headers.set(IDEMPOTENCY_HEADER, post.idempotencyKey);
  headers.delete(TIMESTAMP_HEADER);
  headers.delete(SIGNATURE_HEADER);
  if (post.secret) {
    // A fresh timestamp per attempt: a retry an hour later must still pass the receiver's
    // freshness check, while the unchanged Idempotency-Key lets it drop the duplicate.
    const timestamp = String(Math.floor((post.now ?? Date.now)() / 1000));
    headers.set(TIMESTAMP_HEADER, timestamp);
    headers.set(SIGNATURE_HEADER, signBody(post.secret, signedString(timestamp, post.body)));
  }
  return { url, headers, body: post.body };
}

/** Header names whose values are credentials: masked wherever a request is shown rather than sent. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$|token|secret|password|api-?key/i;

/**
 * A prepared request as `simulate` shows it: every header as sent, except credentials, of which
 * only the scheme and the last four characters remain (`Bearer …9f2c`). Definitions may hold a
 * token a simulation's output must not spread into CI logs and pull requests.
 */
export function shownRequest(prepared: PreparedPost): SimulatedRequest {
  const headers: Record<string, string> = {};
  prepared.headers.forEach((value, name) => (headers[name] = CREDENTIAL_HEADER.test(name) ? maskCredential(value) : value));
  return { method: 'POST', url: prepared.url.toString(), headers, body: prepared.body };
}

function maskCredential(value: string): string {
  const [, scheme, secret] = /^(\S+\s+)?(.*)$/s.exec(value) ?? [];
  const tail = secret !== undefined && secret.length > 12 ? secret.slice(-4) : '';
  return `${scheme ?? ''}…${tail}`;
}

/** `Retry-After` as milliseconds (delta-seconds or HTTP-date), clamped to [0, MAX_RETRY_AFTER_MS]; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function networkReason(err: unknown, timeoutMs: number): string {
  if (isTimeout(err)) return `no answer within ${timeoutMs / 1000} s`;
  return errorCode(err) ?? (err as { cause?: { message?: string } } | undefined)?.cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The socket error (`ECONNREFUSED`, `ENOTFOUND`, …), on the error or, when wrapped, its `cause`. */
function errorCode(err: unknown): string | undefined {
  if (isTimeout(err)) return 'ETIMEDOUT';
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The request's deadline destroys it with an error named `TimeoutError`. */
function isTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'TimeoutError';
}
