import { formatDuration, parseDuration } from '../../compiler/durations';
import { DEFAULT_SURVEY_REMINDERS } from '../../core/surveys';
import type { SurveyAskCheck, SurveyAskDecision } from '../../profiles/store';
import type { DeliveryPolicy } from '../types';
import type { ChannelAttempt } from './attempt';

/** UNBROKEN_SURVEY_FATIGUE when unset: one survey per customer per 90 days, across journeys. */
export const DEFAULT_SURVEY_FATIGUE = '90d';

/** Reads UNBROKEN_SURVEY_FATIGUE: a duration such as `90d`, or `0` / `off` for no window. */
export function parseSurveyFatigue(text: string): { ok: true; ms: number } | { ok: false; message: string } {
  const value = text.trim().toLowerCase();
  if (value === '0' || value === 'off') return { ok: true, ms: 0 };
  const parsed = parseDuration(value);
  return parsed.ok ? { ok: true, ms: parsed.ms } : { ok: false, message: `${parsed.message}; or 0 / off to switch the rule off` };
}

const DEFAULT_FATIGUE_MS = (() => {
  const parsed = parseSurveyFatigue(DEFAULT_SURVEY_FATIGUE);
  return parsed.ok ? parsed.ms : 0;
})();

/** The window of the fatigue rule: the policy's, else the default (a rule, not something a missing setting skips). */
export function fatigueWindowMs(policy: DeliveryPolicy | undefined): number {
  return policy?.surveyFatigueMs ?? DEFAULT_FATIGUE_MS;
}

/** What the store is asked for a send that carries a survey; undefined for any other message. */
export function surveyAskFor(attempt: ChannelAttempt): SurveyAskCheck | undefined {
  const { input, template } = attempt;
  if (!template.survey) return undefined;
  return {
    idempotencyKey: input.idempotencyKey,
    customerId: input.context.customerId,
    surveyId: template.survey.id,
    journeyId: input.context.journeyId,
    workflowId: input.context.workflowId,
    stepId: input.stepId,
    at: input.now,
    fatigueMs: fatigueWindowMs(attempt.deps.delivery),
    reminders: input.surveyReminders ?? DEFAULT_SURVEY_REMINDERS,
  };
}

/** Why the rule held a survey back, in words for `status` (the skip's `error`). */
export function fatigueExplanation(decision: Exclude<SurveyAskDecision, { allowed: true }>, check: SurveyAskCheck): string {
  if (decision.rule === 'answered') return `survey "${check.surveyId}" was answered in this run at ${decision.answeredAt}`;
  if (decision.rule === 'fatigue') {
    const { surveyId, journeyId, askedAt } = decision.previous;
    return `survey "${surveyId}" of journey "${journeyId}" reached the customer at ${askedAt}, inside the ${formatDuration(check.fatigueMs)} survey fatigue window`;
  }
  const reminders = check.reminders === 1 ? '1 reminder' : `${check.reminders} reminders`;
  return `survey "${check.surveyId}" was already asked ${decision.asked} times in this run (the journey allows ${reminders})`;
}

/**
 * Applies the survey fatigue rule to a send, atomically in the store, and records the ask when
 * the survey may go. Answers undefined when the message may go (a survey allowed, or no survey),
 * else the skip: `survey_answered` for a reminder to someone who has answered this run's survey
 * (it came due after a send-window hold, say), `survey_fatigue` for the rule. A retry of the
 * send finds its own ask and goes on.
 */
export async function reserveSurveyAsk(attempt: ChannelAttempt): Promise<{ reason: 'survey_answered' | 'survey_fatigue'; error: string } | undefined> {
  const check = surveyAskFor(attempt);
  if (!check) return undefined;
  if (!attempt.delivery) throw new Error('a survey is being sent but the profile store cannot record survey asks (the fatigue rule)');
  const decision = await attempt.delivery.reserveSurveyAsk(check);
  if (decision.allowed) return undefined;
  return { reason: decision.rule === 'answered' ? 'survey_answered' : 'survey_fatigue', error: fatigueExplanation(decision, check) };
}

/** Forgets the ask of a survey that did not go out after all, so it neither tires the customer nor counts as sent. */
export async function releaseSurveyAsk(attempt: ChannelAttempt): Promise<void> {
  if (attempt.template.survey) await attempt.delivery?.releaseSurveyAsk(attempt.input.idempotencyKey);
}
