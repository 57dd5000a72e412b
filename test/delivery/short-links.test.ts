import { isShortCode, newShortCode, resolveShortCode, SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH, shortUnsubscribeLinks } from '../../delivery/short-links';
import type { UnsubscribeCode } from '../../profiles/store';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const DAY = 24 * 3_600_000;

describe('newShortCode', () => {
  it('draws 10 base62 characters, at least 58 bits, and every character of the alphabet turns up', () => {
    expect(SHORT_CODE_LENGTH * Math.log2(SHORT_CODE_ALPHABET.length)).toBeGreaterThanOrEqual(58);
    const codes = Array.from({ length: 2000 }, () => newShortCode());
    for (const code of codes) expect(code).toMatch(/^[0-9A-Za-z]{10}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(codes.join(''))).toEqual(new Set(SHORT_CODE_ALPHABET));
  });
});

describe('isShortCode', () => {
  it('accepts exactly 10 base62 characters', () => {
    expect(isShortCode('Ab3dE6gH9k')).toBe(true);
    for (const bad of ['', 'Ab3dE6gH9', 'Ab3dE6gH9kX', 'Ab3dE6gH9-', 'Ab3dE6gH9_', 'Ab3dE6gH9 ', 'Ab3dE6gH9é', 'Ab3dE6gH9k\n', 42, undefined]) {
      expect(isShortCode(bad)).toBe(false);
    }
  });
});

describe('shortUnsubscribeLinks', () => {
  it('builds <public url>/u/<code> and gives new codes the configured lifetime from now', () => {
    const links = shortUnsubscribeLinks('https://example.com/mail/', 60 * DAY, () => NOW);
    expect(links.url('Ab3dE6gH9k')).toBe('https://example.com/mail/u/Ab3dE6gH9k');
    expect(links.lifetime()).toEqual({ createdAt: NOW.toISOString(), expiresAt: new Date(NOW.getTime() + 60 * DAY).toISOString() });
    expect(() => links.url('../admin')).toThrow(/not a short unsubscribe code/);
  });

  it('refuses a bad public URL or lifetime at start', () => {
    expect(() => shortUnsubscribeLinks('example.com', DAY)).toThrow(/UNBROKEN_PUBLIC_URL/);
    expect(() => shortUnsubscribeLinks('https://example.com', 0)).toThrow(/positive/);
  });
});

describe('resolveShortCode', () => {
  const stored: UnsubscribeCode = {
    code: 'Ab3dE6gH9k',
    idempotencyKey: 'k',
    customerId: 'c1',
    channel: 'sms',
    category: 'marketing',
    createdAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + DAY).toISOString(),
  };
  const lookups: string[] = [];
  const lookup = async (code: string) => {
    lookups.push(code);
    return code === stored.code ? stored : undefined;
  };

  it('checks the shape before asking the store, then whether it exists, then its expiry', async () => {
    expect(await resolveShortCode('not a code', lookup, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(lookups).toEqual([]);
    expect(await resolveShortCode('Zz9Zz9Zz9Z', lookup, NOW)).toEqual({ ok: false, reason: 'unknown' });
    expect(await resolveShortCode(stored.code, lookup, NOW)).toEqual({
      ok: true,
      customerId: 'c1',
      channel: 'sms',
      category: 'marketing',
      expiresAt: new Date(stored.expiresAt),
    });
    // Expired from expiresAt on, like a signed token.
    expect(await resolveShortCode(stored.code, lookup, new Date(stored.expiresAt))).toEqual({ ok: false, reason: 'expired' });
  });
});
