import { ApplicationFailure } from '@temporalio/common';
import { PERMANENT_DELIVERY_ERROR } from '../errors';
import type { WebhookSender } from '../types';
import type { AllowList, Resolver } from './destination';
import { postJson, requireHttpUrl, safeTarget, type JsonPost } from './http';

/** One message of the webhook channel. */
type WebhookMessage = Parameters<WebhookSender['send']>[0];

/** Default time one webhook request may take: well inside sendMessage's 30 s start-to-close timeout. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Options of {@link webhookSender}. */
export interface WebhookOptions {
  /** HMAC secret (UNBROKEN_WEBHOOK_SECRET); requests go unsigned without it. */
  secret?: string;
  /** Per-request timeout in ms; defaults to {@link WEBHOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Clock for the signature timestamp, in ms; tests pin it. */
  now?: () => number;
  /** Private addresses and hosts ops allow (UNBROKEN_HTTP_ALLOW_PRIVATE); none by default. */
  allowPrivate?: AllowList;
  /** Host name resolver; the system's unless a test injects one. */
  resolve?: Resolver;
}

/**
 * The webhook channel: POSTs a rendered template body (JSON text) to the template's URL, with
 * `Idempotency-Key` and the timestamped `X-Unbroken-Signature`, never to a private address
 * unless ops allow it and never following a redirect. A single attempt: the caller's
 * Temporal retry policy provides the backoff, steered by the classification in `./http`.
 */
export function webhookSender(options: WebhookOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    async send(message) {
      const { status } = await postJson({
        ...webhookPost(message, options),
        timeoutMs,
        // The URL is rendered from the template and may carry customer data: always checked.
        destinations: { allow: options.allowPrivate ?? [], resolve: options.resolve },
      });
      return { status };
    },
  };
}

/** What the webhook channel POSTs for one message; `simulate` shows the same. */
export function webhookPost(message: WebhookMessage, options: Pick<WebhookOptions, 'secret' | 'now'>): Omit<JsonPost, 'timeoutMs'> {
  const url = requireHttpUrl(message.url, 'webhook');
  // The body is Liquid output; a value inserted without `| json` can break the syntax. The
  // receiver would answer 400 anyway, but this says which side is wrong and sends nothing.
  try {
    JSON.parse(message.body);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `webhook to ${safeTarget(url)}: body is not valid JSON (${(err as Error).message}); insert values with "| json"`,
      PERMANENT_DELIVERY_ERROR,
    );
  }
  return { url: message.url, body: message.body, idempotencyKey: message.idempotencyKey, secret: options.secret, label: 'webhook', now: options.now };
}
