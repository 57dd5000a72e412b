/**
 * Signed, expiring survey links: one per customer, journey run, step and survey, carried in a
 * survey message's score buttons. Signed as every link token is (`signed.ts`), with the same
 * secret as unsubscribe links but a payload of its own `v`, so neither kind passes for the other.
 *
 * The payload is `{"v":"s1","c":customerId,"j":journeyId,"w":workflowId,"st":stepId,
 * "s":surveyId,"sc":scale,"exp":<unix seconds>}`. The score is not signed: the customer chooses
 * it, in the link's `?score=` or the answer form, and the endpoint checks it against the scale.
 */
import { isSurveyScale, type SurveyScale } from '../core/surveys';
import {
  asRecord,
  expirySeconds,
  isNonEmptyString,
  isWholeSeconds,
  linkBase,
  signToken,
  verifySigned,
  type SignedTokenFailure,
} from './signed';

/** Suggested link lifetime: 30 days; an answer later than that says little about this message. */
export const DEFAULT_SURVEY_LINK_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** Marks a survey payload (layout 1); unsubscribe tokens carry `v: 1`. */
const TOKEN_VERSION = 's1';

/** Who was asked what, in which journey run and step, and until when an answer is taken. */
export interface SurveyClaims {
  customerId: string;
  journeyId: string;
  workflowId: string;
  stepId: string;
  surveyId: string;
  scale: SurveyScale;
  expiresAt: Date;
}

/** Outcome of `verifySurveyToken`: the signed claims, or the reason they cannot be trusted. */
export type SurveyTokenResult = ({ ok: true } & SurveyClaims) | { ok: false; reason: SignedTokenFailure };

/** The JSON inside a token; short keys keep URLs short. */
interface PayloadS1 {
  v: typeof TOKEN_VERSION;
  c: string;
  j: string;
  w: string;
  st: string;
  s: string;
  sc: SurveyScale;
  exp: number;
}

const ID_FIELDS = ['customerId', 'journeyId', 'workflowId', 'stepId', 'surveyId'] as const;

/** Creates a token for the claims; the expiry is rounded down to the whole second. */
export function createSurveyToken(claims: SurveyClaims, secret: string): string {
  for (const field of ID_FIELDS) {
    if (!isNonEmptyString(claims[field])) throw new Error(`survey token: ${field} must be a non-empty string`);
  }
  if (!isSurveyScale(claims.scale)) throw new Error(`survey token: unknown scale ${JSON.stringify(claims.scale)}`);
  const payload: PayloadS1 = {
    v: TOKEN_VERSION,
    c: claims.customerId,
    j: claims.journeyId,
    w: claims.workflowId,
    st: claims.stepId,
    s: claims.surveyId,
    sc: claims.scale,
    exp: expirySeconds(claims.expiresAt, 'survey'),
  };
  return signToken(payload, secret, 'survey');
}

/**
 * Checks a token's shape, then its signature (constant time), and only then reads the payload
 * and its expiry. A token expiring exactly at `now` is expired.
 */
export function verifySurveyToken(token: string, secret: string, now: Date): SurveyTokenResult {
  const verified = verifySigned(token, secret, now, parsePayload);
  if (!verified.ok) return verified;
  const { payload: p, expiresAt } = verified;
  return { ok: true, customerId: p.c, journeyId: p.j, workflowId: p.w, stepId: p.st, surveyId: p.s, scale: p.sc, expiresAt };
}

/** What a survey link is minted for: the claims but the expiry, which the builder sets. */
export type SurveyLinkClaims = Omit<SurveyClaims, 'expiresAt'>;

/** Builds a survey's base link (`<public url>/s/<token>`, the answer page). */
export type SurveyLinkBuilder = (claims: SurveyLinkClaims, at?: Date) => string;

/**
 * Builds `DeliveryPolicy.surveyLink`: each call mints a token valid for `ttlMs` from `now()`.
 * The page is the base link; a score's link is `surveyScoreLink(base, n)`.
 */
export function surveyLinkBuilder(publicUrl: string, secret: string, ttlMs: number, now: () => Date = () => new Date()): SurveyLinkBuilder {
  const base = linkBase(publicUrl, secret, ttlMs, 'survey');
  return (claims, at) => {
    const expiresAt = new Date((at ?? now()).getTime() + ttlMs);
    // Tokens are base64url plus '.', all URL-safe, so no encoding is needed.
    return `${base}/s/${createSurveyToken({ ...claims, expiresAt }, secret)}`;
  };
}

/** The link that answers `score`: the base link with `?score=<n>`. */
export function surveyScoreLink(baseLink: string, score: number): string {
  return `${baseLink}?score=${score}`;
}

function parsePayload(value: unknown): PayloadS1 | undefined {
  const p = asRecord(value);
  if (p === undefined || p.v !== TOKEN_VERSION) return undefined;
  for (const key of ['c', 'j', 'w', 'st', 's'] as const) if (!isNonEmptyString(p[key])) return undefined;
  if (!isSurveyScale(p.sc) || !isWholeSeconds(p.exp)) return undefined;
  return { v: TOKEN_VERSION, c: p.c as string, j: p.j as string, w: p.w as string, st: p.st as string, s: p.s as string, sc: p.sc, exp: p.exp };
}
