import { createHmac } from 'node:crypto';
import { MAX_SIGNED_TOKEN_LENGTH } from '../../delivery/signed';
import {
  createSurveyToken,
  surveyLinkBuilder,
  surveyScoreLink,
  verifySurveyToken,
  type SurveyClaims,
} from '../../delivery/survey-tokens';
import { createUnsubscribeToken, verifyUnsubscribeToken } from '../../delivery/tokens';

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const OTHER_SECRET = 'another-unsubscribe-secret-0123456789abcd';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const LATER = new Date('2024-05-31T12:00:00.000Z');
const CLAIMS: SurveyClaims = {
  customerId: 'cust-1',
  journeyId: 'nps-after-delivery',
  workflowId: 'journey:nps-after-delivery:cust-1:abc',
  stepId: 'ask',
  surveyId: 'delivery-nps',
  scale: 'nps',
  expiresAt: LATER,
};

function parts(token: string): { payload: Record<string, unknown>; signaturePart: string } {
  const [payloadPart, signaturePart] = token.split('.');
  return { payload: JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')), signaturePart };
}

function encode(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function signedRaw(payload: unknown, secret = SECRET): string {
  const payloadPart = encode(payload);
  return `${payloadPart}.${createHmac('sha256', secret).update(payloadPart).digest('base64url')}`;
}

describe('survey tokens', () => {
  it('round-trips the claims: customer, journey, run, step, survey, scale and expiry', () => {
    const token = createSurveyToken(CLAIMS, SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifySurveyToken(token, SECRET, NOW)).toEqual({ ok: true, ...CLAIMS });
  });

  it('rejects a payload changed after signing (another customer, run, survey, scale or a later expiry)', () => {
    const { payload, signaturePart } = parts(createSurveyToken(CLAIMS, SECRET));
    for (const change of [{ c: 'cust-2' }, { w: 'journey:x:cust-1:def' }, { s: 'other-nps' }, { sc: 'csat' }, { exp: (payload.exp as number) + 3600 }]) {
      expect(verifySurveyToken(`${encode({ ...payload, ...change })}.${signaturePart}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rejects a token signed with another secret', () => {
    expect(verifySurveyToken(createSurveyToken(CLAIMS, OTHER_SECRET), SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects an expired token, from the exact expiry instant on', () => {
    const token = createSurveyToken(CLAIMS, SECRET);
    expect(verifySurveyToken(token, SECRET, new Date(LATER.getTime() - 1)).ok).toBe(true);
    expect(verifySurveyToken(token, SECRET, LATER)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses an unsubscribe token as a survey token, and a survey token as an unsubscribe token', () => {
    const unsubscribe = createUnsubscribeToken({ customerId: 'cust-1', channel: 'email', category: 'marketing', expiresAt: LATER }, SECRET);
    expect(verifySurveyToken(unsubscribe, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyUnsubscribeToken(createSurveyToken(CLAIMS, SECRET), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('treats a correctly signed payload of the wrong shape as malformed (unknown scale, missing id)', () => {
    const { payload } = parts(createSurveyToken(CLAIMS, SECRET));
    for (const bad of [{ ...payload, sc: 'stars' }, { ...payload, st: '' }, { ...payload, v: 1 }, { ...payload, exp: '1717243200' }, [payload], null]) {
      expect(verifySurveyToken(signedRaw(bad), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it.each([
    ['empty', ''],
    ['no dot', 'abc'],
    ['three parts', 'a.b.c'],
    ['short signature', 'eyJ2IjoxfQ.AAAA'],
    ['too long', `${'A'.repeat(MAX_SIGNED_TOKEN_LENGTH)}.${'A'.repeat(43)}`],
  ])('rejects a malformed token (%s)', (_name, token) => {
    expect(verifySurveyToken(token, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses to mint a token longer than any reader accepts, or for claims it could not honour', () => {
    expect(() => createSurveyToken({ ...CLAIMS, workflowId: 'w'.repeat(1600) }, SECRET)).toThrow(/survey token would be \d+ characters \(limit 2048\)/);
    expect(() => createSurveyToken({ ...CLAIMS, stepId: '' }, SECRET)).toThrow(/stepId/);
    expect(() => createSurveyToken({ ...CLAIMS, scale: 'stars' as never }, SECRET)).toThrow(/scale/);
    expect(() => createSurveyToken(CLAIMS, 'short')).toThrow(/UNBROKEN_UNSUBSCRIBE_SECRET/);
  });
});

describe('surveyLinkBuilder', () => {
  it('builds <base>/s/<token> valid for the lifetime from now, and score links on it', () => {
    const link = surveyLinkBuilder('https://mail.example.com/x/', SECRET, 60_000, () => NOW);
    const { expiresAt: _ignored, ...claims } = CLAIMS;
    const base = link(claims);
    const match = /^https:\/\/mail\.example\.com\/x\/s\/([A-Za-z0-9_.-]+)$/.exec(base);
    expect(match).not.toBeNull();
    expect(verifySurveyToken(match![1], SECRET, NOW)).toEqual({ ok: true, ...claims, expiresAt: new Date(NOW.getTime() + 60_000) });
    const scored = new URL(surveyScoreLink(base, 7));
    expect(scored.searchParams.get('score')).toBe('7');
    expect(scored.pathname).toBe(new URL(base).pathname);
  });

  it('fails at construction on a bad secret, lifetime or base URL', () => {
    expect(() => surveyLinkBuilder('https://example.com', 'short', 1000)).toThrow(/UNBROKEN_UNSUBSCRIBE_SECRET/);
    expect(() => surveyLinkBuilder('https://example.com', SECRET, 0)).toThrow(/survey link lifetime must be a positive number/);
    expect(() => surveyLinkBuilder('example.com', SECRET, 1000)).toThrow(/UNBROKEN_PUBLIC_URL/);
  });
});
