/**
 * One table of audiences and the customers each must hold, shared by the pure evaluator's test
 * (test/core/audiences.test.ts) and the store's SQL listing on both databases
 * (test/profiles/audience-store.cases.ts): the same cases, the same expected answers.
 */
import { stringify } from 'yaml';
import { compileAudiences } from '../../compiler/audience';
import type { AudiencePlan } from '../../compiler/plan';

/** "Now" of every case. */
export const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** An ISO time `ms` from NOW (negative: in the past, as a back-filled history would be). */
export function ago(ms: number): string {
  return new Date(NOW - ms).toISOString();
}

/** A customer of the world: identify traits (absent: never identified, only tracked) and track events. */
export interface WorldCustomer {
  id: string;
  traits?: Record<string, unknown>;
  events: { event: string; timestamp: string }[];
}

export const WORLD: WorldCustomer[] = [
  {
    id: 'ada',
    traits: { email: 'ada@example.com', plan: 'pro', subscriptions: { email: { marketing: true } } },
    events: [
      { event: 'order_completed', timestamp: ago(90 * DAY) },
      { event: 'order_completed', timestamp: ago(70 * DAY) },
      { event: 'page_viewed', timestamp: ago(1 * DAY + HOUR) },
      { event: 'page_viewed', timestamp: ago(2 * DAY) },
      { event: 'page_viewed', timestamp: ago(3 * DAY) },
    ],
  },
  {
    id: 'bob',
    traits: { email: 'bob@example.org', plan: 'free' },
    events: [
      { event: 'order_completed', timestamp: ago(10 * DAY) },
      { event: 'page_viewed', timestamp: ago(8 * DAY) },
      { event: 'page_viewed', timestamp: ago(HOUR) },
      // Stamped two minutes ahead of this clock (a sender's clock skew): still "in the last 7 days".
      { event: 'page_viewed', timestamp: ago(-2 * MINUTE) },
    ],
  },
  {
    id: 'cyd',
    traits: { plan: 'pro', subscriptions: { email: { marketing: false } } },
    events: [{ event: 'order_completed', timestamp: ago(100 * DAY) }],
  },
  {
    // Never identified: known only from track events.
    id: 'dee',
    events: [
      { event: 'page_viewed', timestamp: ago(20 * HOUR) },
      { event: 'page_viewed', timestamp: ago(2 * DAY) },
      { event: 'page_viewed', timestamp: ago(6 * DAY) },
    ],
  },
  {
    id: 'eve',
    traits: { email: 'eve@example.com', unsubscribed: true },
    events: [],
  },
  {
    id: 'fay',
    traits: { email: 'fay@example.com' },
    events: [
      { event: 'order_completed', timestamp: ago(61 * DAY) },
      // A back-filled order from more than a year ago.
      { event: 'order_completed', timestamp: ago(400 * DAY) },
    ],
  },
];

/** An audience as it would be written in definitions/audiences/<id>.yaml, and who must be in it at NOW. */
export interface AudienceCase {
  id: string;
  where: Record<string, unknown>;
  members: string[];
}

export const AUDIENCE_CASES: AudienceCase[] = [
  {
    id: 'lapsed',
    where: { 'profile.email': { exists: true }, 'events.order_completed.count': { gte: 1 }, 'events.order_completed.last_at': { before: '-60d' } },
    members: ['ada', 'fay'],
  },
  { id: 'engaged', where: { 'events.page_viewed.count_7d': { gte: 3 } }, members: ['ada', 'dee'] },
  { id: 'never-ordered', where: { 'events.order_completed.count': 0 }, members: ['dee', 'eve'] },
  { id: 'never-ordered-by-time', where: { 'events.order_completed.last_at': { exists: false } }, members: ['dee', 'eve'] },
  { id: 'first-order-long-ago', where: { 'events.order_completed.first_at': { before: '2026-01-01' } }, members: ['fay'] },
  { id: 'unsubscribed', where: { 'consent.email.marketing': 'unsubscribed' }, members: ['cyd', 'eve'] },
  { id: 'lapsed-not-engaged', where: { in_audience: 'lapsed', not: { in_audience: 'engaged' } }, members: ['fay'] },
  {
    id: 'recent-buyer-or-pro',
    where: { any: [{ 'events.order_completed.count_30d': { gte: 1 } }, { 'profile.plan': 'pro' }] },
    members: ['ada', 'bob', 'cyd'],
  },
  { id: 'never-browsed', where: { not: { 'events.page_viewed.count': { gte: 1 } } }, members: ['cyd', 'eve', 'fay'] },
  {
    id: 'no-order-in-60-days',
    where: { 'events.order_completed.count': { gte: 1 }, 'events.order_completed.count_60d': 0 },
    members: ['ada', 'cyd', 'fay'],
  },
  { id: 'browsed-this-week', where: { 'events.page_viewed.last_at': { after: '-7d' } }, members: ['ada', 'bob', 'dee'] },
  { id: 'browsed-today', where: { 'events.page_viewed.count_24h': { gte: 1 } }, members: ['bob', 'dee'] },
  {
    id: 'org-addresses-with-views',
    where: { 'profile.email': { ends_with: '@EXAMPLE.ORG' }, 'events.page_viewed.count': { gt: 2 } },
    members: ['bob'],
  },
  { id: 'nobody', where: { 'events.order_completed.count': { gte: 1 }, 'events.order_completed.first_at': { after: '-1d' } }, members: [] },
];

/** Every case compiled as audience files are (so `in_audience` between cases works); throws on a compile error. */
export function compiledCases(): Map<string, AudiencePlan> {
  const { audiences, errors } = compileAudiences(
    AUDIENCE_CASES.map((c) => ({
      text: stringify({ audience: c.id, where: c.where }),
      names: { file: `audiences/${c.id}.yaml`, errorFile: `audiences/${c.id}.yaml` },
    })),
  );
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return audiences;
}
