import { smtpMailer } from '../../activities/mailer';
import { createSendMessage } from '../../activities/send-message';
import { DEFAULT_SURVEY_FATIGUE, fatigueExplanation, fatigueWindowMs, parseSurveyFatigue } from '../../activities/send/survey-fatigue';
import type { SendMessageInput, SendMessageResult } from '../../activities/types';
import type { TemplatePlan } from '../../compiler/plan';
import { decideSurveyAsk } from '../../profiles/rules';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import type { SurveyAskCheck } from '../../profiles/store';
import { ConfigError, loadConfig } from '../../worker/config';
import { activityDeps } from '../../worker/deps';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { cartReminder, journeyContext, tempStore } from './helpers';

const DAY = 86_400_000;
const T0 = '2024-05-01T10:00:00.000Z';
const SECRET = 'fatigue-test-secret-0123456789abcdef';

function after(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

function survey(id: string): TemplatePlan {
  return cartReminder({
    id,
    subject: 'How did we do, {{ profile.first_name }}?',
    text: 'Tell us.',
    html: '<p>Tell us.</p>',
    survey: { id, scale: 'nps', question: 'How likely are you to recommend us to a friend?' },
  });
}

/** A send of `template` by run `run` of `journey` for customer c1, at step `step` and time `now`. */
function send(template: TemplatePlan, journey: string, step: string, now: string, extra: Partial<SendMessageInput> & { run?: number } = {}): SendMessageInput {
  const { run = 1, ...rest } = extra;
  const context = journeyContext({ journeyId: journey, workflowId: `${journey}:c1:${run}` });
  return { idempotencyKey: `${context.workflowId}/v1/${step}`, context, stepId: step, template, now, ...rest };
}

function reasonOf(result: SendMessageResult): string {
  return result.status === 'skipped' ? result.reason : result.status;
}

describe('the survey fatigue decision', () => {
  const check: SurveyAskCheck = {
    idempotencyKey: 'k',
    customerId: 'c1',
    surveyId: 'delivery-nps',
    journeyId: 'delivery',
    workflowId: 'delivery:c1:1',
    stepId: 'ask',
    at: T0,
    fatigueMs: 90 * DAY,
    reminders: 1,
  };
  const previous = { surveyId: 'support-csat', journeyId: 'support', askedAt: T0 };

  it('refuses while another survey is inside the window, then allows the first ask and as many re-asks as reminders', () => {
    expect(decideSurveyAsk(previous, 0, 1)).toEqual({ allowed: false, rule: 'fatigue', previous });
    expect(decideSurveyAsk(undefined, 0, 1)).toEqual({ allowed: true });
    expect(decideSurveyAsk(undefined, 1, 1)).toEqual({ allowed: true });
    expect(decideSurveyAsk(undefined, 2, 1)).toEqual({ allowed: false, rule: 'reminders', asked: 2 });
    expect(decideSurveyAsk(undefined, 1, 0)).toEqual({ allowed: false, rule: 'reminders', asked: 1 });
  });

  it('says which survey tired the customer, or how many times the run already asked', () => {
    expect(fatigueExplanation({ allowed: false, rule: 'fatigue', previous }, check)).toBe(
      `survey "support-csat" of journey "support" reached the customer at ${T0}, inside the 90d survey fatigue window`,
    );
    expect(fatigueExplanation({ allowed: false, rule: 'reminders', asked: 2 }, check)).toBe(
      'survey "delivery-nps" was already asked 2 times in this run (the journey allows 1 reminder)',
    );
  });

  it('reads UNBROKEN_SURVEY_FATIGUE as a duration, 0 or off; refuses anything else naming the setting; defaults to 90 days', () => {
    expect(parseSurveyFatigue('30d')).toEqual({ ok: true, ms: 30 * DAY });
    expect(parseSurveyFatigue('off')).toEqual({ ok: true, ms: 0 });
    expect(parseSurveyFatigue('0')).toEqual({ ok: true, ms: 0 });
    expect(DEFAULT_SURVEY_FATIGUE).toBe('90d');
    expect(loadConfig({}).surveyFatigueMs).toBe(90 * DAY);
    expect(loadConfig({ UNBROKEN_SURVEY_FATIGUE: 'OFF' }).surveyFatigueMs).toBe(0);
    expect(loadConfig({ UNBROKEN_SURVEY_FATIGUE: '6w' }).surveyFatigueMs).toBe(42 * DAY);
    expect(() => loadConfig({ UNBROKEN_SURVEY_FATIGUE: 'ninety days' })).toThrow(ConfigError);
    expect(() => loadConfig({ UNBROKEN_SURVEY_FATIGUE: 'ninety days' })).toThrow(/UNBROKEN_SURVEY_FATIGUE: .*not a duration.*0 \/ off/);
    // A policy that does not say (a hand-built one) gets the rule, not a free pass.
    expect(fatigueWindowMs(undefined)).toBe(90 * DAY);
  });
});

describe('sendMessage under the survey fatigue rule (real SQLite store, real SMTP)', () => {
  let store: SqliteProfileStore;
  let cleanup: () => Promise<void>;
  let smtp: TestSmtpServer;

  beforeEach(async () => {
    ({ store, cleanup } = tempStore());
    await store.identify('c1', { email: 'ada@example.com', first_name: 'Ada' });
    smtp = await startSmtpServer();
  });

  afterEach(async () => {
    await smtp.stop();
    await cleanup();
  });

  /** The send activity as the worker builds it, from these settings (no global caps unless given). */
  function sender(env: Record<string, string> = {}) {
    const config = loadConfig({ UNBROKEN_UNSUBSCRIBE_SECRET: SECRET, UNBROKEN_FREQUENCY_CAPS: 'none', ...env });
    return createSendMessage(activityDeps(config, store, smtpMailer(smtp.url)));
  }

  it('skips a second survey from another journey within 90 days as survey_fatigue, and sends it once the window has passed', async () => {
    const sendMessage = sender();
    expect(reasonOf(await sendMessage(send(survey('delivery-nps'), 'delivery', 'ask', T0)))).toBe('sent');

    const tooSoon = await sendMessage(send(survey('support-csat'), 'support', 'ask', after(90 * DAY - 60_000)));
    expect(tooSoon).toMatchObject({ status: 'skipped', reason: 'survey_fatigue', template: 'support-csat' });
    expect(tooSoon.status === 'skipped' && tooSoon.error).toContain('survey "delivery-nps" of journey "delivery"');
    // Recorded like any skip, so status and stats show it; and a retry of that send answers the same.
    expect(await store.messagesFor('c1')).toContainEqual(
      expect.objectContaining({ journeyId: 'support', status: 'skipped', result: expect.objectContaining({ reason: 'survey_fatigue' }) }),
    );

    const later = await sendMessage(send(survey('support-csat'), 'support', 'ask', after(90 * DAY), { run: 2 }));
    expect(later).toMatchObject({ status: 'sent', template: 'support-csat' });
    const mails = await smtp.waitFor(2);
    expect(mails.map((m) => m.subject)).toEqual(['How did we do, Ada?', 'How did we do, Ada?']);
    expect(mails).toHaveLength(2);
  });

  it('sends a reminder of the same survey in the same run once, then skips the third ask', async () => {
    const sendMessage = sender();
    const results = [];
    for (const [step, day] of [['ask', 0], ['reminder', 4], ['nag', 8]] as const) {
      results.push(reasonOf(await sendMessage(send(survey('delivery-nps'), 'delivery', step, after(day * DAY)))));
    }
    expect(results).toEqual(['sent', 'sent', 'survey_fatigue']);
    // A journey that says `survey_reminders: 0` gets no reminder at all.
    const strict = await sendMessage(send(survey('delivery-nps'), 'delivery', 'reminder', after(4 * DAY), { run: 2, surveyReminders: 0 }));
    expect(reasonOf(strict)).toBe('survey_fatigue');
    await smtp.waitFor(2);
  });

  it('does not remind a customer who answered while the reminder was held back: skipped survey_answered, the mail never goes', async () => {
    const sendMessage = sender();
    expect(reasonOf(await sendMessage(send(survey('delivery-nps'), 'delivery', 'ask', T0)))).toBe('sent');
    await store.recordSurveyAnswer(
      { surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'delivery', workflowId: 'delivery:c1:1', stepId: 'ask', scale: 'nps', score: 9, at: after(4 * DAY + 60_000) },
      10 * 60_000,
    );
    const reminder = await sendMessage(send(survey('delivery-nps'), 'delivery', 'reminder', after(4 * DAY + 3_600_000)));
    expect(reminder).toMatchObject({ status: 'skipped', reason: 'survey_answered' });
    expect(reminder.status === 'skipped' && reminder.error).toBe(`survey "delivery-nps" was answered in this run at ${after(4 * DAY + 60_000)}`);
    // The skip happens before any connection to the relay: only the question was ever sent.
    await smtp.waitFor(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('leaves mail without a survey alone: a receipt and a newsletter go out right after a survey', async () => {
    const sendMessage = sender();
    await sendMessage(send(survey('delivery-nps'), 'delivery', 'ask', T0));
    const receipt = cartReminder({ id: 'receipt', category: 'transactional', subject: 'Your receipt' });
    expect(reasonOf(await sendMessage(send(receipt, 'orders', 'receipt', after(60_000))))).toBe('sent');
    expect(reasonOf(await sendMessage(send(cartReminder(), 'cart', 'reminder', after(120_000))))).toBe('sent');
    expect((await smtp.waitFor(3)).map((m) => m.subject)).toContain('Your receipt');
  });

  it('does not count a survey the frequency cap held back, nor one the relay refused for good', async () => {
    const capped = sender({ UNBROKEN_FREQUENCY_CAPS: 'email:marketing:1/24h' });
    await capped(send(cartReminder(), 'cart', 'reminder', T0));
    expect(reasonOf(await capped(send(survey('delivery-nps'), 'delivery', 'ask', after(60_000))))).toBe('frequency_cap');
    // The capped survey tired nobody: the next day another journey's survey goes.
    expect(reasonOf(await capped(send(survey('support-csat'), 'support', 'ask', after(DAY + 60_000))))).toBe('sent');
    await smtp.waitFor(2);

    await smtp.stop();
    smtp = await startSmtpServer({ rejectWith: 554 });
    const refused = sender({ UNBROKEN_SURVEY_FATIGUE: '1h' });
    await expect(refused(send(survey('returns-ces'), 'returns', 'ask', after(2 * DAY)))).rejects.toThrow();
    const { asks } = await store.surveyReport({ surveyId: 'returns-ces' });
    expect(asks).toEqual([]);
  });

  it('with UNBROKEN_SURVEY_FATIGUE=off sends another journey\'s survey at once', async () => {
    const sendMessage = sender({ UNBROKEN_SURVEY_FATIGUE: 'off' });
    expect(reasonOf(await sendMessage(send(survey('delivery-nps'), 'delivery', 'ask', T0)))).toBe('sent');
    expect(reasonOf(await sendMessage(send(survey('support-csat'), 'support', 'ask', after(60_000))))).toBe('sent');
    await smtp.waitFor(2);
  });
});
