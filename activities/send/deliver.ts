import { ApplicationFailure } from '@temporalio/common';
import { PERMANENT_DELIVERY_ERROR } from '../errors';
import { DeliveryError, isHardBounce } from '../mailer';
import { timeSend } from '../../observability/metrics';
import type { SmsProvider } from '../types';
import type { ChannelAttempt } from './attempt';
import { messageIdFor, type Outgoing } from './outgoing';

/**
 * How a failed delivery is treated: `transient` is retried; `permanent` (an SMTP 5xx, a refused
 * envelope, an HTTP 4xx other than 408/429, or an error already marked non-retryable) is not;
 * `hard_bounce` is a permanent refusal of the mailbox itself (SMTP 550/551/553 at RCPT TO).
 */
export function classifyFailure(err: unknown): 'transient' | 'permanent' | 'hard_bounce' {
  const permanent = (err instanceof DeliveryError && err.permanent) || (err instanceof ApplicationFailure && err.nonRetryable);
  if (!permanent) return 'transient';
  return isHardBounce(err) ? 'hard_bounce' : 'permanent';
}

/**
 * Hands the message to its channel and returns the id it went out under. On failure the claim
 * is released and the error thrown is the one Temporal should see (see `failure`).
 */
export async function deliverOrFail(attempt: ChannelAttempt, outgoing: Outgoing): Promise<string> {
  try {
    return await timeSend(attempt.deps.metrics, attempt.template.channel, () => deliver(attempt, outgoing));
  } catch (err) {
    // Free the claim so the retry may take it; if even that fails, the claim stays `sending`
    // and the retry resends under the same Message-ID, which is the documented window.
    await attempt.deps.store.releaseMessage(attempt.input.idempotencyKey).catch(() => undefined);
    throw await failure(attempt, err, outgoing);
  }
}

async function deliver({ deps, input }: ChannelAttempt, message: Outgoing): Promise<string> {
  const { idempotencyKey } = input;
  switch (message.channel) {
    case 'email':
      await deps.mailer.send(message.mail);
      return message.mail.messageId;
    case 'sms': {
      const sms: Parameters<SmsProvider['send']>[0] = { to: message.to, body: message.body, idempotencyKey };
      if (message.from !== undefined) sms.from = message.from;
      return (await requireProvider(deps.sms).send(sms)).providerId;
    }
    case 'webhook':
      await requireProvider(deps.webhook).send({ url: message.url, body: message.body, idempotencyKey });
      return messageIdFor(idempotencyKey);
  }
}

/**
 * Turns a failed delivery into what Temporal should see. A permanent failure gives the cap
 * slot back (nothing was sent, nothing will be) and, for a mailbox the server says does not
 * exist, suppresses the address first so no later journey tries it again.
 */
async function failure(attempt: ChannelAttempt, err: unknown, message: Outgoing): Promise<unknown> {
  const { delivery, template } = attempt;
  const kind = classifyFailure(err);
  if (kind === 'transient') return err;
  await delivery?.releaseSendSlot(attempt.input.idempotencyKey).catch(() => undefined);
  if (message.channel === 'email' && kind === 'hard_bounce' && delivery) {
    // Not caught: if the suppression cannot be written, a retryable error makes the activity
    // run again, bounce again and try again, rather than forget the bad address.
    await delivery.suppress('email', message.mail.to, 'hard_bounce', new Date().toISOString());
  }
  if (err instanceof DeliveryError) {
    return ApplicationFailure.nonRetryable(err.message, PERMANENT_DELIVERY_ERROR, {
      template: template.id,
      channel: template.channel,
      status: err.status,
      code: err.code,
    });
  }
  return err;
}

/** The provider the early channel_unavailable check already proved present. */
function requireProvider<T>(provider: T | undefined): T {
  if (provider === undefined) throw new Error('channel provider disappeared between the check and the send');
  return provider;
}
