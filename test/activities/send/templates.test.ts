/**
 * Templates by reference (activities/send/templates.ts): a run the router starts carries only
 * each template's head, and the send loads the parts from the deployed version, on a real store.
 */
import { ApplicationFailure } from '@temporalio/common';
import { captureMailer } from '../../../activities/mailer';
import { createSendMessage } from '../../../activities/send-message';
import { templateResolver } from '../../../activities/send/templates';
import { withTemplateHeads, type JourneyPlan } from '../../../compiler/plan';
import type { SqliteProfileStore } from '../../../profiles/sqlite';
import { cartReminder, journeyContext, sendInput, tempStore } from '../helpers';

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
const context = journeyContext();
const reminder = cartReminder({ alternatives: { sms: { body: 'Your cart is waiting, {{ profile.first_name }}' } } });
const plan = { journey: context.journeyId, version: context.version, templates: { 'cart-reminder': reminder } } as unknown as JourneyPlan;
const heads = withTemplateHeads(plan).templates;

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  await store.identify('c1', { email: 'ada@example.com', first_name: 'Ada' });
  await store.deployJourneys([{ journeyId: plan.journey, version: plan.version, plan }], '2024-05-01T00:00:00.000Z');
});
afterEach(() => cleanup());

test('a head carries no message text, only what the workflow decides with', () => {
  expect(heads['cart-reminder']).toEqual({ id: 'cart-reminder', channel: 'email', category: 'marketing', file: 'templates/cart-reminder.yaml', byReference: true });
});

test('a send given a head renders the deployed template, as it would the whole one', async () => {
  const mailer = captureMailer();
  const sendMessage = createSendMessage({ store, mailer, mailFrom: 'shop@example.com' });
  const result = await sendMessage(sendInput(heads['cart-reminder']));
  expect(result).toMatchObject({ status: 'sent', subject: 'Ada, you left something in your cart', body: 'Your cart: Socks Hat ' });
  expect(mailer.sent).toHaveLength(1);
});

test("another channel's head gets that channel's parts, with the send's category; whole templates pass unchanged", async () => {
  const resolve = templateResolver(store);
  const smsHead = { ...heads['cart-reminder'], channel: 'sms' as const, category: 'transactional' };
  const resolved = await resolve(sendInput(heads['cart-reminder'], 'reminder', { fallbacks: [smsHead] }));
  expect(resolved.template).toMatchObject({ channel: 'email', subject: reminder.subject, text: reminder.text });
  expect(resolved.template.byReference).toBeUndefined();
  expect(resolved.fallbacks?.[0]).toMatchObject({ channel: 'sms', category: 'transactional', body: 'Your cart is waiting, {{ profile.first_name }}' });
  const whole = sendInput(reminder);
  expect(await resolve(whole)).toEqual(whole);
});

test('a version is read from the store once per worker', async () => {
  let reads = 0;
  const counting = Object.assign(Object.create(store) as SqliteProfileStore, {
    journeyVersion: (journeyId: string, version: string) => {
      reads += 1;
      return store.journeyVersion(journeyId, version);
    },
  });
  const resolve = templateResolver(counting);
  for (let i = 0; i < 3; i++) await resolve(sendInput(heads['cart-reminder'], `step-${i}`));
  expect(reads).toBe(1);
});

test('a head of a version that was never deployed fails the send for good, naming it', async () => {
  const resolve = templateResolver(store);
  const input = sendInput(heads['cart-reminder'], 'reminder', { context: { ...context, version: 'gone' } });
  const failure = await resolve(input).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).nonRetryable).toBe(true);
  expect((failure as Error).message).toBe(`version gone of journey ${context.journeyId} was never deployed`);
});
