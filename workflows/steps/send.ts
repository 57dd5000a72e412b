import { ActivityFailure, patched } from '@temporalio/workflow';
import type { TemplatePlan } from '../../compiler/plan';
import type { BuiltinActivities } from '../../activities/index';
import type { SendMessageResult } from '../../activities/types';
import { sendOutcome } from '../../core/step-outcomes';
import type { StepOf } from './types';
import type { JourneyRun, Worked } from '../run/run';
import { SEND_RETRIES_EXHAUSTED_SKIPS } from '../run/patches';
import { failureMessage, isPermanentActivityFailure } from '../pure/failure';
import { sendTemplates } from '../pure/channels';
import { sendWindowFor, windowWait } from '../pure/schedule';

type Send = BuiltinActivities['sendMessage'];

/**
 * `send: <template>` — one message, inside the send window; a frequency cap with `on_cap: defer`
 * makes it wait for a free slot and try again.
 */
export async function runSend(step: StepOf<'send'>, run: JourneyRun): Promise<void> {
  const template = run.plan.templates[step.template];
  const category = step.category ?? template.category;
  const [first, ...fallbacks] = sendTemplates(template, step.channels, category);
  const send = run.activities.builtin('sendMessage');
  for (;;) {
    await awaitSendWindow(run, step.id, category);
    const tried = await trySend(run, step, first, fallbacks, send);
    if (!tried) return;
    const { result } = tried;
    if (result.status !== 'deferred') return run.noteOutcome(step.id, sendOutcome(result), tried);
    // The window may have closed by the time the slot frees, so the loop checks it again.
    await run.note(step.id, 'waited', { reason: 'frequency_cap', until: result.retryAt, template: step.template });
    await run.sleep(Math.max(0, Date.parse(result.retryAt) - run.now()));
  }
}

/** Waits until the send window is open for the customer; transactional messages never wait. */
async function awaitSendWindow(run: JourneyRun, stepId: string, category: string): Promise<void> {
  const window = sendWindowFor(run.plan.sendWindow, run.input.quietHours, category);
  if (!window) return;
  const profile = await run.freshProfile();
  const { delayMs, zone } = windowWait(run.now(), window, profile.timezone, run.input.defaultTimezone);
  if (delayMs > 0) {
    await run.note(stepId, 'waited', { reason: 'send_window', until: run.iso(run.now() + delayMs), timezone: zone });
    await run.sleep(delayMs);
  }
}

/** The send's result, or undefined when delivery failed and the message was skipped. */
async function trySend(
  run: JourneyRun,
  step: StepOf<'send'>,
  template: TemplatePlan,
  fallbacks: TemplatePlan[],
  send: Send,
): Promise<Worked<SendMessageResult> | undefined> {
  try {
    return await run.work(step.id, (now, riding) =>
      send({
        idempotencyKey: run.keyFor(step.id),
        context: run.context,
        stepId: step.id,
        template,
        to: step.to,
        data: step.data,
        now,
        ...(run.received ? { received: run.received } : {}),
        ...(step.onCap ? { onCap: step.onCap } : {}),
        ...(run.plan.frequencyCap ? { journeyCap: run.plan.frequencyCap } : {}),
        // Only journeys that say `survey_reminders:` add it, so every other send's input stays as it was.
        ...(run.plan.surveyReminders !== undefined ? { surveyReminders: run.plan.surveyReminders } : {}),
        ...(fallbacks.length > 0 ? { fallbacks } : {}),
        ...riding,
      }),
    );
  } catch (err) {
    // A failed delivery loses this one message, not the customer's whole journey: a permanent
    // failure at once, a transient one once its retries are used up. Runs that reached the
    // second case before this rule existed keep failing the journey, as their history says.
    if (isPermanentActivityFailure(err) || (err instanceof ActivityFailure && patched(SEND_RETRIES_EXHAUSTED_SKIPS))) {
      await run.note(step.id, 'skipped', { reason: 'delivery_failed', error: failureMessage(err), template: step.template });
      return undefined;
    }
    throw err;
  }
}
