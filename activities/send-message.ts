import type { ActivityPolicy } from '../compiler/plan';
import { PERMANENT_DELIVERY_ERROR } from './errors';
import { claimSend, deliveryStoreOf, openAttempt, type ChannelAttempt } from './send/attempt';
import { capped, reserveSlot } from './send/caps';
import { checkChannel, chooseChannel } from './send/channel';
import { classifyFailure, deliverOrFail } from './send/deliver';
import { finishSent, skip } from './send/finish';
import { renderOutgoing } from './send/outgoing';
import { templateResolver } from './send/templates';
import { createRidingRecords } from './record-step';
import { sendOutcome } from '../core/step-outcomes';
import { releaseSurveyAsk, reserveSurveyAsk } from './send/survey-fatigue';
import { countSend } from '../observability/metrics';
import type { ActivityDeps, SendMessageInput, SendMessageResult } from './types';

export { deliveryStoreOf, type SkipReason } from './send/attempt';
export { consentModeOf } from './send/channel';
export { htmlToText, messageIdFor } from './send/outgoing';
export { usesShortUnsubscribeLink } from './send/unsubscribe';

/** Retry/timeout policy of `sendMessage`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    // About two hours of retries (1 s doubling to 10 min): an SMTP relay or SMS provider outage of
    // that length delays messages instead of losing them.
    maximumInterval: '10m',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [PERMANENT_DELIVERY_ERROR],
  },
};

/**
 * Builds `sendMessage`: decide whether a message may go out, render it with the fresh profile
 * and send it through its channel, at most once per idempotency key. Each stage lives in
 * `activities/send/`.
 *
 * Checks, in order (the first that fails decides, and is recorded as the skip reason): the
 * channel has a provider (`channel_unavailable`); the customer has an address for the channel
 * (`no_address`); the address is not suppressed (`suppressed`); the address is not a forgotten
 * customer's without new consent (`forgotten`, send/forgotten.ts); the customer is subscribed to
 * the category, transactional mail excepted (`unsubscribed`); the template renders
 * (`template_error`); a survey passes the survey fatigue rule (`survey_fatigue`, see
 * send/survey-fatigue.ts); a frequency-cap slot is free (`frequency_cap`, or `deferred` with
 * `on_cap: defer`). Caps are evaluated at `input.now`, the journey's clock, so simulations and
 * time-skipping tests see the same decisions as production.
 *
 * Exactly-once has one unavoidable window: the provider accepted the message but the worker
 * died (or the store write failed) before `finishMessage` recorded it. The claim then still says
 * `sending`, and the retry sends again — with the same Message-ID (email) or idempotency key
 * (SMS, webhook), so mail clients, many relays and idempotent receivers fold the two into one.
 * The retry reuses the send slot it reserved, so the duplicate never costs a second cap slot.
 * Everything else (retries after a failure, replays, a second call once finished) sends nothing
 * more.
 */
export function createSendMessage(deps: ActivityDeps): (input: SendMessageInput) => Promise<SendMessageResult> {
  const delivery = deliveryStoreOf(deps.store);

  const riding = createRidingRecords(deps);
  const wholeTemplates = templateResolver(deps.store);

  return async function sendMessage(input: SendMessageInput): Promise<SendMessageResult> {
    // The claim comes before any other store call: it is what makes the send effectively-once.
    const finished = await claimSend(deps.store, input);
    await riding.before(input);
    // A key already finished was counted when it finished; its outcome record may still be missing
    // (the worker died between the two writes), so it is stored again, once.
    const result = finished ?? (await countSend(deps.metrics, input.template.channel, () => sendClaimed(input)));
    if (result.status !== 'deferred') await riding.after(input, sendOutcome(result));
    return result;
  };

  async function sendClaimed(byReference: SendMessageInput): Promise<SendMessageResult> {
    const input = await wholeTemplates(byReference);
    const attempt = await openAttempt(deps, delivery, input);

    const choice = await chooseChannel(input.template, input.fallbacks ?? [], (template) => checkChannel(attempt, template));
    const onChannel: ChannelAttempt = { ...attempt, template: choice.template, passedOver: choice.passedOver };
    if (!('passed' in choice)) return skip(onChannel, choice.reason, choice.error);

    const outgoing = await renderOutgoing(onChannel, choice.passed);
    if ('reason' in outgoing) return skip(onChannel, outgoing.reason, outgoing.error);

    // Rendered before the survey and the slot are taken, so a template error costs neither.
    const heldBack = await reserveSurveyAsk(onChannel);
    if (heldBack !== undefined) return skip(onChannel, heldBack.reason, heldBack.error);
    const slot = await reserveSlot(onChannel);
    if (!slot.allowed) {
      // Not sent now: the survey was not asked (a deferred send asks again when it goes).
      await releaseSurveyAsk(onChannel);
      return capped(onChannel, slot.retryAt);
    }

    const messageId = await deliverOrFail(onChannel, outgoing).catch(async (err: unknown) => {
      // A survey that failed for good was never asked; a transient failure keeps its ask for the retry.
      if (classifyFailure(err) !== 'transient') await releaseSurveyAsk(onChannel).catch(() => undefined);
      throw err;
    });
    return finishSent(onChannel, outgoing, messageId);
  }
}
