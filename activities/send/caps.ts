import { isTransactional } from '../../core/index';
import type { CapCheck, CapDecision } from '../../profiles/store';
import type { FrequencyCap, SendMessageInput, SendMessageResult } from '../types';
import type { ChannelAttempt } from './attempt';
import { skip } from './finish';

/** Every cap that applies to a send: the global ones of its channel and category, plus the journey's own. */
export function capsFor(
  globalCaps: readonly FrequencyCap[],
  send: { channel: string; category: string; journeyId: string; journeyCap?: SendMessageInput['journeyCap'] },
): CapCheck['caps'] {
  const caps: CapCheck['caps'] = globalCaps
    .filter((cap) => cap.channel === send.channel && cap.category === send.category)
    .map(({ max, windowMs }) => ({ max, windowMs }));
  // A journey's own cap limits its marketing; receipts and other transactional mail never wait.
  if (send.journeyCap && !isTransactional(send.category)) caps.push({ ...send.journeyCap, journeyId: send.journeyId });
  return caps;
}

/** Takes a frequency-cap slot for this key (a retry finds its own slot again). */
export async function reserveSlot(attempt: ChannelAttempt): Promise<CapDecision> {
  const { deps, delivery, input, category } = attempt;
  const { context } = input;
  const channel = attempt.template.channel;
  const caps = capsFor(deps.delivery?.caps ?? [], { channel, category, journeyId: context.journeyId, journeyCap: input.journeyCap });
  if (!delivery) {
    if (caps.length > 0) throw new Error('frequency caps are configured but the profile store cannot record send slots');
    return { allowed: true };
  }
  // Uncapped sends are recorded too, so caps switched on later count what was already sent.
  return delivery.reserveSendSlot({
    idempotencyKey: input.idempotencyKey,
    customerId: context.customerId,
    channel,
    category,
    journeyId: context.journeyId,
    at: input.now,
    caps,
    ...(context.key ? { instanceKey: context.key } : {}),
  });
}

/** No free slot: skip with `frequency_cap`, or with `on_cap: defer` say when to try again. */
export async function capped(attempt: ChannelAttempt, retryAt: string): Promise<SendMessageResult> {
  const { input, template } = attempt;
  if (input.onCap === 'defer') {
    // Nothing is recorded as finished: the workflow retries this same key at retryAt and
    // must be able to claim it again then.
    await attempt.deps.store.releaseMessage(input.idempotencyKey);
    return { status: 'deferred', channel: template.channel, template: template.id, reason: 'frequency_cap', retryAt };
  }
  return skip(attempt, 'frequency_cap');
}
