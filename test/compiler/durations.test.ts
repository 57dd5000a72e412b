import { parseDuration } from '../../compiler/durations';
import { closest } from '../../compiler/suggest';

describe('durations', () => {
  test.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1d12h', 129_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  test('bare numbers are refused with a hint to add a unit', () => {
    expect(parseDuration(30)).toMatchObject({ ok: false, code: 'duration_without_unit' });
    expect(parseDuration('30')).toMatchObject({ ok: false, code: 'duration_without_unit' });
  });

  test('negative durations are only accepted where a sign is allowed', () => {
    expect(parseDuration('-7d', true)).toEqual({ ok: true, ms: -604_800_000 });
    expect(parseDuration('-7d')).toMatchObject({ ok: false, code: 'invalid_duration' });
  });

  test('spelled-out durations get a suggestion', () => {
    expect(parseDuration('2 days')).toMatchObject({ ok: false, message: '"2 days" is not a duration (did you mean "2d"?)' });
    expect(parseDuration('')).toMatchObject({ ok: false, code: 'invalid_duration' });
  });
});

describe('suggestions', () => {
  test('typos within a couple of edits, including swapped letters, find the intended word', () => {
    expect(closest('tirgger', ['trigger', 'steps'])).toBe('trigger');
    expect(closest('sned', ['send', 'wait'])).toBe('send');
    expect(closest('banana', ['send', 'wait'])).toBeUndefined();
    // Two edits in a short word make another word, not a typo.
    expect(closest('every', ['event', 'where', 'within'])).toBeUndefined();
    expect(closest('evnet', ['event', 'where', 'within'])).toBe('event');
  });
});
