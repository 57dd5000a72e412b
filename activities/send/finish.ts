import type { SendMessageResult } from '../types';
import type { ChannelAttempt, SkipReason } from './attempt';
import { recipientOf, type Outgoing } from './outgoing';

/** Records the key as skipped with `reason`, so a later call with it answers the same. */
export async function skip(attempt: ChannelAttempt, reason: SkipReason, error?: string): Promise<SendMessageResult> {
  const { template, passedOver } = attempt;
  const result: SendMessageResult = { status: 'skipped', channel: template.channel, template: template.id, reason };
  if (error !== undefined) result.error = error;
  if (passedOver.length > 0) result.passedOver = passedOver;
  await attempt.deps.store.finishMessage(attempt.input.idempotencyKey, 'skipped', { ...result });
  return result;
}

/** Records the key as sent; from here on every call with it answers this result and sends nothing. */
export async function finishSent(attempt: ChannelAttempt, outgoing: Outgoing, messageId: string): Promise<SendMessageResult> {
  const { template, passedOver } = attempt;
  const result: SendMessageResult = {
    status: 'sent',
    channel: template.channel,
    template: template.id,
    to: recipientOf(outgoing),
    subject: outgoing.channel === 'email' ? outgoing.mail.subject : '',
    body: outgoing.body,
    messageId,
  };
  if (passedOver.length > 0) result.passedOver = passedOver;
  await attempt.deps.store.finishMessage(attempt.input.idempotencyKey, 'sent', { ...result });
  return result;
}
