import { createHmac } from 'node:crypto';
import {
  createUnsubscribeToken,
  DEFAULT_UNSUBSCRIBE_TTL_MS,
  MAX_UNSUBSCRIBE_TOKEN_LENGTH,
  unsubscribePolicyUrl,
  verifyUnsubscribeToken,
  type UnsubscribeClaims,
} from '../../delivery/tokens';

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const OTHER_SECRET = 'another-unsubscribe-secret-0123456789abcd';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const LATER = new Date('2024-06-01T12:00:00.000Z');
const CLAIMS: UnsubscribeClaims = { customerId: 'cust-1', channel: 'email', category: 'marketing', expiresAt: LATER };

function parts(token: string): { payload: Record<string, unknown>; payloadPart: string; signaturePart: string } {
  const [payloadPart, signaturePart] = token.split('.');
  return { payload: JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')), payloadPart, signaturePart };
}

function encode(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** A token signed with our secret over an arbitrary payload, as only a secret holder could make. */
function signedRaw(payloadPart: string, secret = SECRET): string {
  return `${payloadPart}.${createHmac('sha256', secret).update(payloadPart).digest('base64url')}`;
}

describe('unsubscribe tokens', () => {
  it('round-trips the claims, with the documented versioned payload', () => {
    const token = createUnsubscribeToken(CLAIMS, SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(parts(token).payload).toEqual({ v: 1, c: 'cust-1', ch: 'email', cat: 'marketing', exp: LATER.getTime() / 1000 });
    expect(verifyUnsubscribeToken(token, SECRET, NOW)).toEqual({ ok: true, ...CLAIMS });
  });

  it('keeps unusual ids intact (unicode, dots, quotes, slashes)', () => {
    const claims = { ...CLAIMS, customerId: 'ünï.cödé/"x"<y>@example.com', category: 'product-updates' };
    expect(verifyUnsubscribeToken(createUnsubscribeToken(claims, SECRET), SECRET, NOW)).toEqual({ ok: true, ...claims });
  });

  it('rounds the expiry down to the second, never extending it', () => {
    const token = createUnsubscribeToken({ ...CLAIMS, expiresAt: new Date('2024-06-01T12:00:00.999Z') }, SECRET);
    const result = verifyUnsubscribeToken(token, SECRET, NOW);
    expect(result.ok && result.expiresAt.toISOString()).toBe('2024-06-01T12:00:00.000Z');
  });

  it('rejects a payload changed after signing (another customer, category or a later expiry)', () => {
    const token = createUnsubscribeToken(CLAIMS, SECRET);
    const { payload, signaturePart } = parts(token);
    for (const change of [{ c: 'cust-2' }, { cat: 'transactional' }, { ch: 'sms' }, { exp: (payload.exp as number) + 3600 }]) {
      const forged = `${encode({ ...payload, ...change })}.${signaturePart}`;
      expect(verifyUnsubscribeToken(forged, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rejects a tampered signature', () => {
    const token = createUnsubscribeToken(CLAIMS, SECRET);
    const { payloadPart, signaturePart } = parts(token);
    const bytes = Buffer.from(signaturePart, 'base64url');
    bytes[5] ^= 0x01;
    expect(verifyUnsubscribeToken(`${payloadPart}.${bytes.toString('base64url')}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    // A signature copied from a token for another customer does not fit this payload.
    const other = parts(createUnsubscribeToken({ ...CLAIMS, customerId: 'cust-2' }, SECRET));
    expect(verifyUnsubscribeToken(`${payloadPart}.${other.signaturePart}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a token signed with another secret', () => {
    const token = createUnsubscribeToken(CLAIMS, OTHER_SECRET);
    expect(verifyUnsubscribeToken(token, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects an expired token, from the exact expiry instant on', () => {
    const token = createUnsubscribeToken(CLAIMS, SECRET);
    expect(verifyUnsubscribeToken(token, SECRET, new Date(LATER.getTime() - 1)).ok).toBe(true);
    expect(verifyUnsubscribeToken(token, SECRET, LATER)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyUnsubscribeToken(token, SECRET, new Date('2030-01-01T00:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
  });

  it('checks the signature before the expiry, so a forged expired token is reported as forged', () => {
    const { payload } = parts(createUnsubscribeToken(CLAIMS, SECRET));
    const forged = `${encode({ ...payload, c: 'cust-2' })}.${parts(createUnsubscribeToken(CLAIMS, SECRET)).signaturePart}`;
    expect(verifyUnsubscribeToken(forged, SECRET, new Date('2030-01-01T00:00:00Z'))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('binds each token to its own customer, channel and category', () => {
    const a = createUnsubscribeToken(CLAIMS, SECRET);
    const b = createUnsubscribeToken({ ...CLAIMS, customerId: 'cust-2' }, SECRET);
    const c = createUnsubscribeToken({ ...CLAIMS, category: 'newsletter' }, SECRET);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(verifyUnsubscribeToken(a, SECRET, NOW)).toMatchObject({ ok: true, customerId: 'cust-1', category: 'marketing' });
    expect(verifyUnsubscribeToken(b, SECRET, NOW)).toMatchObject({ ok: true, customerId: 'cust-2', category: 'marketing' });
    expect(verifyUnsubscribeToken(c, SECRET, NOW)).toMatchObject({ ok: true, customerId: 'cust-1', category: 'newsletter' });
  });

  it.each([
    ['empty', ''],
    ['no dot', 'abc'],
    ['three parts', 'a.b.c'],
    ['empty payload', `.${'A'.repeat(43)}`],
    ['empty signature', 'eyJ2IjoxfQ.'],
    ['padding', 'eyJ2IjoxfQ==.abc'],
    ['standard base64 characters', 'ab+/.cd'],
    ['whitespace', ' eyJ2IjoxfQ.abc'],
    ['short signature', 'eyJ2IjoxfQ.AAAA'],
    ['too long', `${'A'.repeat(MAX_UNSUBSCRIBE_TOKEN_LENGTH)}.${'A'.repeat(43)}`],
  ])('rejects a malformed token (%s)', (_name, token) => {
    expect(verifyUnsubscribeToken(token, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts only the canonical spelling of a signature', () => {
    const token = createUnsubscribeToken(CLAIMS, SECRET);
    const { payloadPart, signaturePart } = parts(token);
    // 43 base64url characters carry 258 bits for 256: the last character's low 2 bits are spare.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signaturePart[42]);
    const variant = `${signaturePart.slice(0, 42)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signaturePart, 'base64url'))).toBe(true);
    expect(verifyUnsubscribeToken(`${payloadPart}.${variant}`, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('treats a correctly signed payload of the wrong shape or version as malformed', () => {
    const exp = LATER.getTime() / 1000;
    for (const payload of [
      { v: 2, c: 'cust-1', ch: 'email', cat: 'marketing', exp },
      { v: 1, c: '', ch: 'email', cat: 'marketing', exp },
      { v: 1, c: 'cust-1', ch: 'email', exp },
      { v: 1, c: 'cust-1', ch: 'email', cat: 'marketing', exp: '1717243200' },
      { v: 1, c: 42, ch: 'email', cat: 'marketing', exp },
      [1, 2, 3],
      null,
    ]) {
      expect(verifyUnsubscribeToken(signedRaw(encode(payload)), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(verifyUnsubscribeToken(signedRaw(Buffer.from('not json').toString('base64url')), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses secrets shorter than 32 characters, to sign and to verify', () => {
    const short = 'x'.repeat(31);
    expect(() => createUnsubscribeToken(CLAIMS, short)).toThrow(/UNBROKEN_UNSUBSCRIBE_SECRET/);
    expect(() => verifyUnsubscribeToken('a.b', short, NOW)).toThrow(/at least 32/);
    expect(() => createUnsubscribeToken(CLAIMS, 'x'.repeat(32))).not.toThrow();
  });

  it('refuses claims it could not honour', () => {
    expect(() => createUnsubscribeToken({ ...CLAIMS, customerId: '' }, SECRET)).toThrow(/customerId/);
    expect(() => createUnsubscribeToken({ ...CLAIMS, expiresAt: new Date('nope') }, SECRET)).toThrow(/valid date/);
    expect(() => createUnsubscribeToken({ ...CLAIMS, customerId: 'x'.repeat(2000) }, SECRET)).toThrow(/too long/);
  });
});

describe('unsubscribePolicyUrl', () => {
  it('builds <base>/unsubscribe/<token> valid for the lifetime from now', () => {
    const url = unsubscribePolicyUrl('https://mail.example.com/', SECRET, 60_000, () => NOW);
    const link = url('cust-1', 'email', 'newsletter');
    const match = /^https:\/\/mail\.example\.com\/unsubscribe\/([^/]+)$/.exec(link);
    expect(match).not.toBeNull();
    const token = match![1];
    expect(verifyUnsubscribeToken(token, SECRET, NOW)).toEqual({
      ok: true,
      customerId: 'cust-1',
      channel: 'email',
      category: 'newsletter',
      expiresAt: new Date(NOW.getTime() + 60_000),
    });
    expect(verifyUnsubscribeToken(token, SECRET, new Date(NOW.getTime() + 60_000)).ok).toBe(false);
  });

  it('keeps a path prefix and reads the clock on every call', () => {
    let now = NOW;
    const url = unsubscribePolicyUrl('https://example.com/mail//', SECRET, DEFAULT_UNSUBSCRIBE_TTL_MS, () => now);
    const first = url('c', 'email', 'marketing');
    now = LATER;
    const second = url('c', 'email', 'marketing');
    expect(first.startsWith('https://example.com/mail/unsubscribe/')).toBe(true);
    const expiry = (link: string) => {
      const result = verifyUnsubscribeToken(link.split('/').pop()!, SECRET, NOW);
      return result.ok ? result.expiresAt.getTime() : undefined;
    };
    expect(expiry(second)! - expiry(first)!).toBe(LATER.getTime() - NOW.getTime());
  });

  it('fails at construction on a bad secret, lifetime or base URL', () => {
    expect(() => unsubscribePolicyUrl('https://example.com', 'short', 1000)).toThrow(/UNBROKEN_UNSUBSCRIBE_SECRET/);
    expect(() => unsubscribePolicyUrl('https://example.com', SECRET, 0)).toThrow(/positive/);
    expect(() => unsubscribePolicyUrl('example.com', SECRET, 1000)).toThrow(/UNBROKEN_PUBLIC_URL/);
    expect(() => unsubscribePolicyUrl('ftp://example.com', SECRET, 1000)).toThrow(/http or https/);
    expect(() => unsubscribePolicyUrl('https://example.com/?x=1', SECRET, 1000)).toThrow(/query/);
  });
});
