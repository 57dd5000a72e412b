/**
 * Survey answer endpoints, reached from the score buttons of a survey message (the links come
 * from delivery/survey-tokens.ts):
 *
 * - `GET /s/:token[?score=n]` — the answer page: the question, every score (the link's one
 *   chosen), an optional comment and a Send button. It records nothing: mail scanners and link
 *   previewers fetch every URL in a message and must not answer for the customer.
 * - `POST /s/:token[?score=n]` — records the answer (a form, a JSON body `{score?, comment?}`,
 *   or no body at all from a one-click client; the body's score wins over the link's) and
 *   answers a thank-you page, or JSON when the request accepts `application/json`.
 *
 * One answer per journey run and survey: within the grace period after the first answer another
 * score or a comment changes it, then it stands (`recordSurveyAnswer`). The answer as it stands
 * then goes through the same ingestion as every event: an identify setting
 * `last_<survey>_score`/`_at`, then a track `survey_answered` that journeys wait for. Their
 * messageIds are derived from the answer's revision, so repeating a POST delivers nothing twice,
 * and repeating one whose delivery failed finishes it.
 *
 * The token is the only credential; one that fails verification records nothing and the page
 * says why without revealing whom it was for.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderTemplate } from '../activities/render';
import type { JourneyPlan, TrackEvent } from '../compiler/plan';
import { npsGroup, SCALES, scoreLabels, SURVEY_ANSWERED_EVENT, surveyTraitNames, isValidScore, type ScaleRange, type SurveyScale } from '../core/surveys';
import { assertSigningSecret, MAX_SIGNED_TOKEN_LENGTH } from '../delivery/signed';
import { verifySurveyToken, type SurveyClaims } from '../delivery/survey-tokens';
import type { LiveStore, RecordSurveyAnswerResult, SurveyAnswer, SurveyAnswerInput } from '../profiles/store';
import { ingest, type IngestDeps } from './ingest';
import { escapeHtml, paragraphs, sendPage } from './pages';
import type { Call } from './schemas';

/** What the survey routes need: the link secret, the answer part of the store and the grace period. */
export interface SurveyDeps {
  /** Secret the worker signs links with (`UNBROKEN_UNSUBSCRIBE_SECRET`, shared with unsubscribe links). */
  secret: string;
  store: Pick<LiveStore, 'recordSurveyAnswer' | 'surveyAnswer' | 'enrolmentsFor' | 'journeyVersion' | 'getProfile'>;
  /** How long after the first answer another answer still changes it (`UNBROKEN_SURVEY_GRACE`). */
  graceMs: number;
  /** Clock for expiry, answer times and the grace period; defaults to the API's clock. */
  now?: () => Date;
}

/** Route parameters longer than this are answered 404 by fastify; buildApi raises its limit to fit. */
export const SURVEY_MAX_PARAM_LENGTH = MAX_SIGNED_TOKEN_LENGTH;
/** Longest comment kept, in characters (after trimming). */
export const MAX_SURVEY_COMMENT_LENGTH = 2000;

/** A comment of 2,000 characters, form-encoded at up to 9 bytes each, plus the score. */
const BODY_LIMIT_BYTES = 32 * 1024;

/** Control characters (C0 but tab and line breaks, DEL, C1): nothing a person types in a comment box. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** Shown when the journey's own question cannot be read (journey gone, or its Liquid fails). */
const GENERIC_QUESTIONS: Record<SurveyScale, string> = {
  nps: 'How likely are you to recommend us to a friend or colleague?',
  csat: 'How satisfied were you?',
  ces: 'How easy was it?',
  thumbs: 'Was this helpful?',
};

type LinkRequest = FastifyRequest<{ Params: { token: string }; Querystring: Record<string, unknown> }>;

/** What the customer sent: a score and a comment, each checked, or the field that is wrong. */
type Submission = { ok: true; score?: number; comment?: string } | { ok: false; field: 'score' | 'comment' | 'body'; message: string };

/** Registers the survey routes on `app` (in their own scope, so body parsing stays local). */
export async function registerSurvey(app: FastifyInstance, deps: SurveyDeps & { now: () => Date }, ingestDeps: IngestDeps): Promise<void> {
  assertSigningSecret(deps.secret);
  const { store, secret, now, graceMs } = deps;

  await app.register(async (scope) => {
    // Forms, JSON and the empty bodies of one-click clients are all read here, as text, by
    // `submission`; fastify's strict parsers would refuse a client's quirk before we see it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
    scope.get<{ Params: { token: string }; Querystring: Record<string, unknown> }>('/s/:token', (request, reply) => showPage(request, reply));
    scope.post<{ Params: { token: string }; Querystring: Record<string, unknown> }>('/s/:token', { bodyLimit: BODY_LIMIT_BYTES }, (request, reply) =>
      answer(request, reply),
    );
  });

  /** The answer page; reads the answer so far (never writes), so a scanner's GET changes nothing. */
  async function showPage(request: LinkRequest, reply: FastifyReply): Promise<FastifyReply> {
    const claims = verified(request, reply);
    if (claims === undefined) return reply;
    const read = await atStore(request, reply, async () => ({ existing: await store.surveyAnswer(claims.workflowId, claims.surveyId) }));
    if (read === undefined) return reply;
    const { existing } = read;
    if (existing !== undefined && !changeable(existing)) return sendPage(reply, 200, standsView(existing));
    const question = await questionOf(request, claims);
    const score = parseScore(request.query.score, claims.scale);
    const chosen = typeof score === 'number' ? score : existing?.score;
    const error = typeof score === 'string' ? score : undefined;
    return sendPage(reply, error === undefined ? 200 : 400, formView(request.params.token, claims, question, chosen, existing?.comment, error));
  }

  /** Records the answer, delivers its events, and thanks the customer. */
  async function answer(request: LinkRequest, reply: FastifyReply): Promise<FastifyReply> {
    const claims = verified(request, reply);
    if (claims === undefined) return reply;
    const sent = submission(request, claims.scale);
    if (!sent.ok || sent.score === undefined) {
      const issue = sent.ok ? { field: 'score' as const, message: `is required: choose one from ${range(claims.scale)}` } : sent;
      return refuseSubmission(request, reply, claims, issue);
    }
    const { customerId, journeyId, workflowId, stepId, surveyId, scale } = claims;
    const input: SurveyAnswerInput = { customerId, journeyId, workflowId, stepId, surveyId, scale, score: sent.score, at: now().toISOString() };
    if (sent.comment !== undefined) input.comment = sent.comment;
    const result = await atStore(request, reply, () => store.recordSurveyAnswer(input, graceMs));
    if (result === undefined) return reply;
    // Every POST delivers the answer as it stands: new revisions become events, repeats are
    // duplicates by messageId, and one whose earlier delivery failed is finished now.
    try {
      await ingest(answerCalls(result.answer), ingestDeps);
    } catch (error) {
      request.log.error({ err: error }, 'survey: the answer was saved but its events were not delivered');
      return unavailable(reply, 'Your answer is saved, but we could not pass it on just now. Please press Send again in a few minutes.');
    }
    if (wantsJson(request)) return reply.code(200).send(answerJson(result));
    return sendPage(reply, 200, thanksView(request.params.token, result));
  }

  function verified(request: LinkRequest, reply: FastifyReply): SurveyClaims | undefined {
    const result = verifySurveyToken(request.params.token, secret, now());
    if (result.ok) return result;
    const expired = result.reason === 'expired';
    const message = expired ? 'this survey link has expired' : 'this survey link is not valid';
    if (wantsJson(request)) {
      reply.code(expired ? 410 : 400).send({ error: expired ? 'expired' : 'invalid_link', message });
      return undefined;
    }
    sendPage(reply, expired ? 410 : 400, refusedView(expired));
    return undefined;
  }

  /** A 400 naming the field; the page shows the form again so the customer can put it right. */
  async function refuseSubmission(request: LinkRequest, reply: FastifyReply, claims: SurveyClaims, issue: { field: string; message: string }): Promise<FastifyReply> {
    if (wantsJson(request)) {
      return reply.code(400).send({ error: 'invalid_request', message: `${issue.field}: ${issue.message}`, issues: [issue] });
    }
    const question = await questionOf(request, claims);
    return sendPage(reply, 400, formView(request.params.token, claims, question, undefined, undefined, `Nothing was recorded: the ${issue.field} ${issue.message}.`));
  }

  function changeable(answer: SurveyAnswer): boolean {
    return now().getTime() < changeableUntil(answer);
  }

  function changeableUntil(answer: SurveyAnswer): number {
    return Date.parse(answer.firstAnsweredAt) + graceMs;
  }

  /**
   * The question as the message asked it: the survey's `question` in the journey version the run
   * entered, rendered for the customer; a generic one for the scale when that cannot be had.
   */
  async function questionOf(request: LinkRequest, claims: SurveyClaims): Promise<string> {
    try {
      const run = (await store.enrolmentsFor(claims.customerId)).find((e) => e.workflowId === claims.workflowId);
      const deployed = run && (await store.journeyVersion(run.journeyId, run.version));
      const question = surveyQuestion(deployed?.plan, claims.surveyId);
      if (run === undefined || question === undefined) return GENERIC_QUESTIONS[claims.scale];
      const profile = (await store.getProfile(claims.customerId)) ?? { id: claims.customerId, tags: [] };
      const trigger = (run.input as { trigger?: TrackEvent } | null)?.trigger ?? { event: '', properties: {}, timestamp: run.enteredAt };
      const ctx = { profile, trigger, journey: { id: run.journeyId, version: run.version, entered_at: run.enteredAt }, data: {}, now: now().toISOString() };
      return await renderTemplate(question, ctx, 'text', { template: claims.surveyId, part: 'survey.question' });
    } catch (error) {
      request.log.warn({ err: error, survey: claims.surveyId }, 'survey: the question could not be shown; using a generic one');
      return GENERIC_QUESTIONS[claims.scale];
    }
  }

  function thanksView(token: string, result: RecordSurveyAnswerResult): { title: string; body: string } {
    const { answer: a } = result;
    // A repeat of the answer after the grace period is as final as a change would be.
    if (result.status === 'final' || !changeable(a)) return standsView(a);
    const minutes = Math.max(1, Math.ceil((changeableUntil(a) - now().getTime()) / 60_000));
    const body =
      paragraphs([`Your answer: ${scoreText(a)}.${a.comment === undefined ? '' : ' We have your comment too.'}`]) +
      (a.comment === undefined ? commentForm(token, a.score) : '') +
      paragraphs([`Changed your mind? You can change your answer from the link in the message for ${minutes === 1 ? 'another minute' : `${minutes} more minutes`}.`]);
    return { title: 'Thank you for your answer', body };
  }
}

/** The answer's score as words: "7", "4 (Satisfied)", "👍 Yes". */
function scoreText(answer: SurveyAnswer): string {
  const scale = answer.scale as SurveyScale;
  return scoreLabels(scale).find((l) => l.score === answer.score)?.long ?? String(answer.score);
}

function standsView(answer: SurveyAnswer): { title: string; body: string } {
  return {
    title: 'Thank you, we have your answer',
    body: paragraphs([`You answered ${scoreText(answer)}. Answers can be changed only in the first minutes after answering, so this one stands.`]),
  };
}

function refusedView(expired: boolean): { title: string; body: string } {
  return expired
    ? { title: 'This link has expired', body: paragraphs(['This survey link has expired, so nothing was recorded. Thank you for wanting to answer.']) }
    : {
        title: 'This link is not valid',
        body: paragraphs(['This survey link is not valid, so nothing was recorded. Please check that the whole link was copied from the message.']),
      };
}

/**
 * The answer form: the question, one radio choice per score (`chosen` checked), the comment box
 * and Send. It posts to the token relative to the page, so a path prefix in the public URL works.
 */
function formView(token: string, claims: SurveyClaims, question: string, chosen: number | undefined, comment: string | undefined, error: string | undefined) {
  const scale: ScaleRange = SCALES[claims.scale];
  const choices = scoreLabels(claims.scale)
    .map((l) => {
      const checked = l.score === chosen ? ' checked' : '';
      return `<label title="${escapeHtml(l.long)}"><input type="radio" name="score" value="${l.score}" required${checked}>${escapeHtml(l.short)}</label>`;
    })
    .join('');
  const body =
    (error === undefined ? '' : paragraphs([error], 'error')) +
    `<form method="post" action="${escapeHtml(token)}"><fieldset><legend>${escapeHtml(question)}</legend>` +
    `<div class="scores">${choices}</div>` +
    `<div class="ends"><span>${escapeHtml(scale.low)}</span><span>${escapeHtml(scale.high)}</span></div></fieldset>` +
    commentBox(comment, false) +
    '<button type="submit">Send</button></form>';
  return { title: 'Your feedback', body };
}

/** After a score without a comment: one box to add one, keeping the score. */
function commentForm(token: string, score: number): string {
  return (
    `<form method="post" action="${escapeHtml(token)}"><input type="hidden" name="score" value="${score}">` +
    commentBox(undefined, true) +
    '<button type="submit">Send comment</button></form>'
  );
}

/** The comment box of both forms, holding `comment`; `required` where a comment is all the form sends. */
function commentBox(comment: string | undefined, required: boolean): string {
  return (
    `<p><label for="comment">Anything you would like to add? (optional)</label>` +
    `<textarea id="comment" name="comment" maxlength="${MAX_SURVEY_COMMENT_LENGTH}"${required ? ' required' : ''}>${escapeHtml(comment ?? '')}</textarea></p>`
  );
}

function unavailable(reply: FastifyReply, text: string): FastifyReply {
  return sendPage(reply, 503, { title: 'Please try again', body: paragraphs([text]) });
}

/** Runs a store call; on failure answers 503 with a page saying nothing was recorded, and returns undefined. */
async function atStore<T>(request: FastifyRequest, reply: FastifyReply, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    // The token is a credential: log what failed, not the URL.
    request.log.error({ err: error }, 'survey: the profile store failed');
    unavailable(reply, 'We could not record your answer just now. Nothing was recorded. Please try again in a few minutes.');
    return undefined;
  }
}

/** "0 to 10" for the scale. */
function range(scale: SurveyScale): string {
  const { min, max }: ScaleRange = SCALES[scale];
  return `${min} to ${max}`;
}

/** A score in the link or a body: a whole number on the scale; undefined when not given, else the error text. */
function parseScore(value: unknown, scale: SurveyScale): number | string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,3}\s*$/.test(value) ? Number(value) : NaN;
  return isValidScore(scale, n) ? n : `must be a whole number from ${range(scale)}`;
}

/** A comment: trimmed, line breaks as \n, empty as none; refused when too long or holding control characters. */
function parseComment(value: unknown): { ok: true; comment?: string } | { ok: false; message: string } {
  if (value === undefined || value === null) return { ok: true };
  if (typeof value !== 'string') return { ok: false, message: 'must be text' };
  const text = value.replace(/\r\n?/g, '\n').trim();
  if (CONTROL_CHARACTERS.test(text)) return { ok: false, message: 'must not contain control characters' };
  if ([...text].length > MAX_SURVEY_COMMENT_LENGTH) return { ok: false, message: `must be at most ${MAX_SURVEY_COMMENT_LENGTH} characters` };
  return text === '' ? { ok: true } : { ok: true, comment: text };
}

/** Reads score and comment from the body (form or JSON; other bodies carry nothing) and the link. */
function submission(request: LinkRequest, scale: SurveyScale): Submission {
  const fields = bodyFields(request);
  if (fields === undefined) return { ok: false, field: 'body', message: 'must be a JSON object' };
  const raw = fields.score ?? request.query.score;
  const score = parseScore(raw, scale);
  if (typeof score === 'string') return { ok: false, field: 'score', message: score };
  const comment = parseComment(fields.comment);
  if (!comment.ok) return { ok: false, field: 'comment', message: comment.message };
  return { ok: true, ...(score === undefined ? {} : { score }), ...(comment.comment === undefined ? {} : { comment: comment.comment }) };
}

/** The body's `score` and `comment`; undefined for a JSON body that is not an object. */
function bodyFields(request: LinkRequest): { score?: unknown; comment?: unknown } | undefined {
  const type = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const text = typeof request.body === 'string' ? request.body : '';
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text);
    return { score: form.get('score') ?? undefined, comment: form.get('comment') ?? undefined };
  }
  if (type !== 'application/json' || text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const { score, comment } = parsed as Record<string, unknown>;
    return { score, comment };
  } catch {
    return undefined;
  }
}

function wantsJson(request: FastifyRequest): boolean {
  return /\bapplication\/json\b/i.test(String(request.headers.accept ?? ''));
}

function answerJson(result: RecordSurveyAnswerResult): Record<string, unknown> {
  const { answer: a } = result;
  return {
    status: result.status,
    answer: { survey: a.surveyId, scale: a.scale, score: a.score, ...(a.comment === undefined ? {} : { comment: a.comment }), answeredAt: a.answeredAt },
  };
}

/** The question of a survey in a deployed plan (the stored JSON of a JourneyPlan), if one of its templates asks it. */
function surveyQuestion(plan: unknown, surveyId: string): string | undefined {
  const templates = Object.values((plan as Partial<JourneyPlan> | undefined)?.templates ?? {});
  return templates.find((template) => template.survey?.id === surveyId)?.survey?.question;
}

/**
 * The events an answer becomes: an identify with the `last_<survey>_…` traits, then the
 * `survey_answered` track. One revision of an answer always gives the same two messageIds.
 */
export function answerCalls(answer: SurveyAnswer): Call[] {
  const revision = createHash('sha256').update(JSON.stringify([answer.workflowId, answer.surveyId, answer.answeredAt])).digest('hex').slice(0, 40);
  const traits = surveyTraitNames(answer.surveyId);
  const properties: Record<string, unknown> = {
    survey: answer.surveyId,
    scale: answer.scale,
    score: answer.score,
    ...(answer.comment === undefined ? {} : { comment: answer.comment }),
    journey: answer.journeyId,
    step: answer.stepId,
    ...(answer.scale === 'nps' ? { group: npsGroup(answer.score) } : {}),
  };
  return [
    {
      type: 'identify',
      userId: answer.customerId,
      messageId: `survey-${revision}-identify`,
      timestamp: answer.answeredAt,
      traits: { [traits.score]: answer.score, [traits.at]: answer.answeredAt },
    },
    { type: 'track', userId: answer.customerId, messageId: `survey-${revision}-answered`, timestamp: answer.answeredAt, event: SURVEY_ANSWERED_EVENT, properties },
  ];
}
