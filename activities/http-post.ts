import { z } from 'zod';
import type { ActivityPolicy } from '../compiler/plan';
import { jsonRequest, postJson, requireHttpUrl, shownRequest, type JsonPost } from './channels/http';
import { INVALID_ACTIVITY_INPUT, PERMANENT_DELIVERY_ERROR } from './errors';
import type { ActivityDefinition, ActivityDeps, DoInput, SimulatedCall } from './types';

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

// Moved to channels/http.ts, shared with the webhook channel; re-exported for existing importers.
export { signBody } from './channels/http';

/**
 * Builds `http_post`: POST a JSON body to a URL. The receiver gets `Idempotency-Key` (same on
 * every retry of the step, so it can drop duplicates) and, when UNBROKEN_WEBHOOK_SECRET is set,
 * `X-Unbroken-Timestamp` and `X-Unbroken-Signature` (HMAC of `<timestamp>.<body>`, the webhook
 * channel's scheme) to prove the request came from us and is fresh.
 */
function create(deps: ActivityDeps): (input: DoInput<HttpPostWith>) => Promise<{ status: number }> {
  return async function httpPost(call: DoInput<HttpPostWith>): Promise<{ status: number }> {
    const { status } = await postJson({
      ...post(call, deps),
      timeoutMs: REQUEST_TIMEOUT_MS,
      // The URL may be built from customer data: always checked against the private ranges.
      destinations: { allow: deps.httpAllowPrivate ?? [] },
    });
    return { status };
  };
}

/** The request of one call, built as `create`'s function builds it, signed at the journey's time. */
function simulate(call: DoInput<HttpPostWith>, deps: ActivityDeps): SimulatedCall {
  return { request: shownRequest(jsonRequest({ ...post(call, deps), now: () => Date.parse(call.now) })) };
}

/** What one call POSTs, before transport options. */
function post(call: DoInput<HttpPostWith>, deps: ActivityDeps): Omit<JsonPost, 'timeoutMs'> {
  // `{{ ... }}` in `with` were resolved by the journey before this call; rendering them again
  // here would evaluate any braces a customer put into their own profile data.
  const spec = call.with;
  // The compiler checked the literal URL; this re-check covers what expression resolution put into it.
  requireHttpUrl(spec.url, 'http_post', INVALID_ACTIVITY_INPUT);
  return {
    url: spec.url,
    body: JSON.stringify(spec.body ?? {}),
    headers: spec.headers,
    idempotencyKey: call.idempotencyKey,
    secret: deps.webhookSecret,
    label: 'http_post',
  };
}

/** `do: http_post` — POST JSON to a URL, signed and idempotent. */
export const httpPost: ActivityDefinition<HttpPostWith> = {
  name: 'http_post',
  description: 'POST a JSON body to a URL (a webhook), signed and with an Idempotency-Key header.',
  input,
  policy,
  create,
  simulate,
};
