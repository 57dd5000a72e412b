/** Which signals the router leaves out because the run could not act on them (routing/relevance.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JourneyPlan, TrackEvent } from '../../compiler/plan';
import { couldMatter } from '../../routing/relevance';
import { compileFiles } from '../support/definitions';

let plan: JourneyPlan;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-relevance-'));
  const plans = compileFiles(tmp, {
    'templates/nudge.yaml': 'template: nudge\nchannel: email\nsubject: Still there?\ntext: Your cart.',
    'journeys/cart.yaml': [
      'journey: cart',
      'trigger: { event: cart_abandoned }',
      'goal: { event: order_completed, where: { event.properties.cart_id: "{{ trigger.properties.cart_id }}" } }',
      'exit_when:',
      '  - { event: cart_emptied, where: { event.properties.cart_id: "{{ trigger.properties.cart_id }}" } }',
      '  - { event: account_closed }',
      'steps:',
      '  - id: look',
      '    wait_for: { event: cart_viewed, within: 1d, where: { profile.vip: true } }',
      '  - id: late',
      '    wait_for: { event: order_shipped, within: 1d, where: { event.properties.shipped_at: { after: -1d } } }',
      '  - send: nudge',
    ].join('\n'),
  });
  plan = plans.get('cart')!;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const trigger: TrackEvent = { event: 'cart_abandoned', properties: { cart_id: 'c1' }, timestamp: '2026-01-01T00:00:00.000Z' };
const ev = (event: string, properties: Record<string, unknown> = {}): TrackEvent => ({ event, properties, timestamp: '2026-01-01T01:00:00.000Z' });

test('an event whose every matcher reads only the event and the trigger is decided here', () => {
  expect(couldMatter(plan, ev('order_completed', { cart_id: 'c1' }), trigger)).toBe(true);
  expect(couldMatter(plan, ev('order_completed', { cart_id: 'c2' }), trigger)).toBe(false);
  expect(couldMatter(plan, ev('cart_emptied', { cart_id: 'c2' }), trigger)).toBe(false);
  expect(couldMatter(plan, ev('cart_emptied'), trigger)).toBe(false);
});

test('a matcher without a where, or one reading the profile, leaves the event to the run', () => {
  expect(couldMatter(plan, ev('account_closed'), trigger)).toBe(true);
  expect(couldMatter(plan, ev('cart_viewed', { cart_id: 'c2' }), trigger)).toBe(true);
});

test('a where that compares a date with the clock is left to the run, whatever it says now', () => {
  expect(couldMatter(plan, ev('order_shipped', { shipped_at: '2000-01-01T00:00:00Z' }), trigger)).toBe(true);
});

test('an event no matcher names could not matter', () => {
  expect(couldMatter(plan, ev('page_viewed'), trigger)).toBe(false);
});
