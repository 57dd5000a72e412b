import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActivityPolicy } from '../compiler/plan';
import { INVALID_ACTIVITY_INPUT, PERMANENT_DELIVERY_ERROR } from './errors';
import type { ActivityDefinition, ActivityDeps, DoInput } from './types';

/** Schema of `with:` for `do: http_post`; checked when the journey compiles. */
export const input = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .describe('Where to POST, e.g. "https://hooks.example.com/cart". May use {{ profile.* }} / {{ trigger.* }} expressions.'),
    body: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('JSON object to send; string values may use {{ profile.* }} / {{ trigger.* }} expressions.'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra request headers, e.g. { Authorization: "Bearer …" }.'),
  })
  .strict();

/** The checked `with:` block of an `http_post` step. */
export type HttpPostWith = z.infer<typeof input>;

/** How long one request may take before it is abandoned and retried. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Retry/timeout policy of `http_post`: a few minutes of retries for a flaky receiver. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [PERMANENT_DELIVERY_ERROR],
  },
};

/** Status codes in the 4xx range that mean "try again later", not "your request is wrong". */
const RETRYABLE_4XX = new Set([408, 429]);

/** HMAC-SHA256 of the exact body bytes, as sent in `X-Unbroken-Signature: sha256=<hex>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Builds `http_post`: POST a JSON body to a URL. The receiver gets `Idempotency-Key` (same on
 * every retry of the step, so it can drop duplicates) and, when UNBROKEN_WEBHOOK_SECRET is set,
 * `X-Unbroken-Signature` to prove the request came from us.
 */
function create(deps: ActivityDeps): (input: DoInput<HttpPostWith>) => Promise<{ status: number }> {
  return async function httpPost(call: DoInput<HttpPostWith>): Promise<{ status: number }> {
    // `{{ ... }}` in `with` were resolved by the journey before this call; rendering them again
    // here would evaluate any braces a customer put into their own profile data.
    const spec = call.with;
    // The compiler checked the literal URL; this re-check covers what expression resolution put into it.
    const url = URL.canParse(spec.url) ? new URL(spec.url) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw ApplicationFailure.nonRetryable(`http_post: "${spec.url}" is not an http(s) URL`, INVALID_ACTIVITY_INPUT);
    }
    const target = `${url.origin}${url.pathname}`; // never the query: it may carry tokens
    const body = JSON.stringify(spec.body ?? {});
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'unbroken',
      ...spec.headers,
      'Idempotency-Key': call.idempotencyKey,
    };
    if (deps.webhookSecret) headers['X-Unbroken-Signature'] = signBody(deps.webhookSecret, body);

    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      // Network trouble and timeouts are worth retrying: a plain Error is retryable.
      throw new Error(`http_post to ${target} failed: ${networkReason(err)}`);
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return { status: response.status };

    const summary = `http_post to ${target} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (response.status >= 500 || RETRYABLE_4XX.has(response.status)) throw new Error(summary);
    throw ApplicationFailure.nonRetryable(summary, PERMANENT_DELIVERY_ERROR, { status: response.status });
  };
}

function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** `do: http_post` — POST JSON to a URL, signed and idempotent. */
export const httpPost: ActivityDefinition<HttpPostWith> = {
  name: 'http_post',
  description: 'POST a JSON body to a URL (a webhook), signed and with an Idempotency-Key header.',
  input,
  policy,
  create,
};
