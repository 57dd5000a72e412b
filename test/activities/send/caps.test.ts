import { capsFor } from '../../../activities/send/caps';

const DAY = 86_400_000;
const globalCaps = [
  { channel: 'email', category: 'marketing', max: 2, windowMs: DAY },
  { channel: 'email', category: 'marketing', max: 5, windowMs: 7 * DAY },
  { channel: 'sms', category: 'marketing', max: 1, windowMs: DAY },
  { channel: 'email', category: 'transactional', max: 10, windowMs: DAY },
];

describe('capsFor', () => {
  it('keeps the global caps of the send channel and category only', () => {
    expect(capsFor(globalCaps, { channel: 'email', category: 'marketing', journeyId: 'j' })).toEqual([
      { max: 2, windowMs: DAY },
      { max: 5, windowMs: 7 * DAY },
    ]);
    expect(capsFor(globalCaps, { channel: 'webhook', category: 'marketing', journeyId: 'j' })).toEqual([]);
  });

  it('adds the journey cap, scoped to the journey, on top of the global ones', () => {
    const journeyCap = { max: 1, windowMs: DAY, perKey: true as const };
    expect(capsFor(globalCaps, { channel: 'sms', category: 'marketing', journeyId: 'cart', journeyCap })).toEqual([
      { max: 1, windowMs: DAY },
      { max: 1, windowMs: DAY, perKey: true, journeyId: 'cart' },
    ]);
  });

  it('never applies the journey cap to transactional sends, but does apply global caps that name transactional', () => {
    const journeyCap = { max: 1, windowMs: DAY };
    expect(capsFor(globalCaps, { channel: 'email', category: 'transactional', journeyId: 'cart', journeyCap })).toEqual([
      { max: 10, windowMs: DAY },
    ]);
  });
});
