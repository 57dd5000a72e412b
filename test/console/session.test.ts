/** Console sessions: random ids, ended by logout or by their lifetime, and cookie parsing. */
import { cookieValue, sameSecret, Sessions } from '../../console/session';

test('a session lives for its lifetime and not a millisecond longer, and logout ends it at once', () => {
  let now = 1_000_000;
  const sessions = new Sessions(60_000, () => now);
  const a = sessions.create();
  const b = sessions.create();
  expect(a.id).not.toBe(b.id);
  expect(a.csrf).not.toBe(a.id);
  expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  now += 59_999;
  expect(sessions.get(a.id)).toBe(a);
  now += 1;
  expect(sessions.get(a.id)).toBeUndefined();
  expect(sessions.get(b.id)).toBeUndefined();
  const c = sessions.create();
  sessions.end(c.id);
  expect(sessions.get(c.id)).toBeUndefined();
  expect(sessions.get(undefined)).toBeUndefined();
  expect(sessions.get('')).toBeUndefined();
});

test('at most a thousand sessions are kept: the oldest goes first', () => {
  const sessions = new Sessions();
  const first = sessions.create();
  const second = sessions.create();
  for (let i = 0; i < 998; i++) sessions.create();
  sessions.create();
  expect(sessions.get(first.id)).toBeUndefined();
  expect(sessions.get(second.id)).toBe(second);
});

test('reads one cookie from a Cookie header among others, and compares secrets whatever their length', () => {
  expect(cookieValue('a=1; unbroken_console=abc; b=2', 'unbroken_console')).toBe('abc');
  expect(cookieValue('xunbroken_console=abc', 'unbroken_console')).toBeUndefined();
  expect(cookieValue(undefined, 'unbroken_console')).toBeUndefined();
  expect(sameSecret('key-0123456789', 'key-0123456789')).toBe(true);
  expect(sameSecret('key-0123456789', 'key-012345678')).toBe(false);
  expect(sameSecret('', 'key')).toBe(false);
});
