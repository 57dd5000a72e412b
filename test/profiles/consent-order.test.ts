import { consentSupersedes } from '../../profiles/rules';

const T = '2026-03-01T12:00:00.000Z';
const EARLIER = '2026-03-01T11:00:00.000Z';
const LATER = '2026-03-01T12:00:00.001Z';

describe('consentSupersedes: which of two statements holds', () => {
  it('takes any statement when none is held', () => {
    expect(consentSupersedes(undefined, { status: 'subscribed', happenedAt: EARLIER })).toBe(true);
  });

  it.each([
    ['a subscribe that happened later', 'unsubscribed', 'one_click', 'subscribed', LATER, true],
    ['a subscribe that happened earlier', 'unsubscribed', 'one_click', 'subscribed', EARLIER, false],
    ['an unsubscribe that happened earlier', 'subscribed', 'identify', 'unsubscribed', EARLIER, false],
    ['an unsubscribe that happened later', 'subscribed', 'resubscribe_page', 'unsubscribed', LATER, true],
    ['a subscribe of the same instant over a link unsubscribe', 'unsubscribed', 'one_click', 'subscribed', T, false],
    ['a subscribe of the same instant over an API unsubscribe', 'unsubscribed', 'api', 'subscribed', T, false],
    ['a subscribe of the same instant over an identify unsubscribe (later arrival wins)', 'unsubscribed', 'identify', 'subscribed', T, true],
    ['an unsubscribe of the same instant over a subscribe', 'subscribed', 'resubscribe_page', 'unsubscribed', T, true],
    ['the same unsubscribe again at the same instant', 'unsubscribed', 'one_click', 'unsubscribed', T, true],
  ] as const)('%s', (_what, heldStatus, source, status, happenedAt, expected) => {
    expect(consentSupersedes({ status: heldStatus, source, happenedAt: T }, { status, happenedAt })).toBe(expected);
  });

  it('compares instants, not the text of the times', () => {
    expect(consentSupersedes({ status: 'unsubscribed', source: 'one_click', happenedAt: T }, { status: 'subscribed', happenedAt: '2026-03-01T13:00:00+02:00' })).toBe(false);
  });
});
