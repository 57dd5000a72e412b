import { ENTRY_MAX_PAST_MS, entryTime, happenedAt } from '../../core/event-time';

const received = '2026-03-01T12:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);
const before = (offset: number) => new Date(ms(received) - offset).toISOString();
const DAY = 86_400_000;

describe('happenedAt: the time consent is ordered by', () => {
  it.each([
    ['a time before the arrival', before(3_600_000), before(3_600_000)],
    ['a time years before the arrival', '2001-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z'],
    ['a time a second after the arrival (a fast clock)', '2026-03-01T12:00:01.000Z', received],
    ['a time in 9999', '9999-12-31T23:59:59.999Z', received],
    ['the arrival itself', received, received],
    ['no time at all', undefined, received],
    ['text that is no time', 'yesterday-ish', received],
  ])('keeps %s no later than the arrival', (_what, timestamp, expected) => {
    expect(happenedAt(timestamp, received)).toBe(expected);
  });

  it('answers in UTC whatever offset the sender wrote', () => {
    expect(happenedAt('2026-03-01T13:30:00+02:00', received)).toBe('2026-03-01T11:30:00.000Z');
  });

  it('refuses an arrival time that is not a time (a programming error, not input)', () => {
    expect(() => happenedAt(received, 'not a time')).toThrow('receivedAt "not a time" is not a time');
  });
});

describe('entryTime: the time entry, trigger conditions and cool-downs decide with', () => {
  it.each([
    ['an hour before the arrival', before(3_600_000), before(3_600_000)],
    ['just inside the allowed past', before(ENTRY_MAX_PAST_MS - 1), before(ENTRY_MAX_PAST_MS - 1)],
    ['just outside it', before(ENTRY_MAX_PAST_MS + 1), before(ENTRY_MAX_PAST_MS)],
    ['60 days before', before(60 * DAY), before(ENTRY_MAX_PAST_MS)],
    ['1970', '1970-01-01T00:00:00.000Z', before(ENTRY_MAX_PAST_MS)],
    ['9999', '9999-12-31T00:00:00.000Z', received],
    ['no time', undefined, received],
  ])('clamps %s into the day before the arrival', (_what, timestamp, expected) => {
    expect(entryTime(timestamp, received)).toBe(expected);
  });

  it('gives calls dated weeks apart one time when they arrive together', () => {
    const times = [60, 45, 31].map((days) => entryTime(before(days * DAY), received));
    expect(new Set(times)).toEqual(new Set([before(ENTRY_MAX_PAST_MS)]));
  });
});
