// light-my-request (fastify's inject) requires `cookie`, which is ESM-only since v2; see
// test/api/server.test.ts. These tests send no cookies.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookie is stubbed in test/api: inject() cookies are not supported here');
  },
}));

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../api/server';
import { answerCalls } from '../../api/survey';
import type { SurveyScale } from '../../core/surveys';
import { createSurveyToken, type SurveyClaims } from '../../delivery/survey-tokens';
import { createUnsubscribeToken } from '../../delivery/tokens';
import type { LiveStore, StoredEvent } from '../../profiles/store';
import { createLogger } from '../../observability/log';
import { captureLog, type CapturedLog } from '../observability/log-capture';
import type { RoutingLoop } from '../../routing/loop';
import { FakeRouter, routingLoop, settle, SpyStore } from './fakes';

const SECRET = 'test-survey-secret-0123456789abcdef-0123';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const MINUTE = 60_000;
const GRACE = 10 * MINUTE;
const CUSTOMER = 'customer-4711';
const WORKFLOW = 'nps:customer-4711:1';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

const open: { app: FastifyInstance; events: SpyStore; loop: RoutingLoop }[] = [];
/** Each app's router loop, which `post` lets route what the answer stored. */
const loops = new WeakMap<FastifyInstance, RoutingLoop>();
afterEach(async () => {
  for (const { app, events, loop } of open.splice(0)) {
    await app.close();
    await loop.stop();
    await events.live.close();
  }
});

/** The real API over a real SQLite store (answers and events in one database), and a router loop into a spy router. */
async function harness(options: { failingStore?: boolean; log?: CapturedLog } = {}) {
  const events = new SpyStore();
  const router = new FakeRouter();
  const loop = routingLoop(events, router);
  const clock = { now: NOW };
  const app = await buildApi({
    ...(options.log ? { logger: createLogger({ service: 'start', level: 'info', destination: options.log.stream }) } : {}),
    store: events,
    accepted: () => loop.wake(),
    writeKey: 'wk_test_123',
    ready: async () => ({ ok: true, checks: {} }),
    now: () => clock.now,
    survey: { secret: SECRET, store: options.failingStore ? failing(events.live) : events.live, graceMs: GRACE },
  });
  open.push({ app, events, loop });
  loops.set(app, loop);
  const store = events.live;
  const answered = () => router.routed.filter((e) => e.event === 'survey_answered');
  return { app, events, router, loop, store, clock, answered, later: (ms: number) => (clock.now = new Date(clock.now.getTime() + ms)) };
}

type Harness = Awaited<ReturnType<typeof harness>>;

/** The store with its survey answer methods failing, as a store that went away would. */
function failing(store: LiveStore): LiveStore {
  const down = async () => {
    throw new Error('store unreachable');
  };
  return Object.assign(Object.create(store) as LiveStore, { recordSurveyAnswer: down, surveyAnswer: down });
}

function token(overrides: Partial<SurveyClaims> = {}, secret = SECRET): string {
  return createSurveyToken(
    {
      customerId: CUSTOMER,
      journeyId: 'nps',
      workflowId: WORKFLOW,
      stepId: 'ask',
      surveyId: 'delivery-nps',
      scale: 'nps',
      expiresAt: new Date(NOW.getTime() + 30 * 24 * 60 * MINUTE),
      ...overrides,
    },
    secret,
  );
}

/** Deploys a journey whose template asks `question` and enters the customer, so run WORKFLOW exists. */
async function enterJourney(h: Harness, question: string, scale: SurveyScale = 'nps'): Promise<void> {
  const plan = { journey: 'nps', templates: { ask: { id: 'ask', channel: 'email', survey: { id: 'delivery-nps', scale, question } } } };
  await h.store.deployJourneys([{ journeyId: 'nps', version: 'v1', plan }], NOW.toISOString());
  await h.store.identify(CUSTOMER, { first_name: 'Ada' });
  const decision = await h.store.tryEnrol({
    journeyId: 'nps',
    customerId: CUSTOMER,
    version: 'v1',
    reEntry: { mode: 'always' },
    at: NOW.toISOString(),
    workflowIdPrefix: 'nps:customer-4711',
    input: { trigger: { event: 'order_delivered', properties: { order: 'A-1' }, timestamp: NOW.toISOString() } },
  });
  expect(decision).toMatchObject({ enrolled: true, enrolment: { workflowId: WORKFLOW } });
}

/** Posts an answer, then lets the router loop route what it stored. */
async function post(app: FastifyInstance, t: string, query = '', payload?: string, headers: Record<string, string> = FORM) {
  const res = await app.inject({ method: 'POST', url: `/s/${t}${query}`, headers, payload });
  await settle(loops.get(app)!);
  return res;
}

function expectPage(res: LightMyRequestResponse, status: number): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(String(res.headers['content-security-policy'])).toContain("form-action 'self'");
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).not.toMatch(/<script/i);
  expect(res.body).not.toContain(CUSTOMER);
}

/** The score radio that is checked on a page, if any. */
function checkedScore(html: string): string | undefined {
  return /<input type="radio" name="score" value="(\d+)" required checked>/.exec(html)?.[1];
}

async function expectNothingRecorded(h: Harness): Promise<void> {
  expect(await h.store.surveyAnswer(WORKFLOW, 'delivery-nps')).toBeUndefined();
  expect(h.router.routed).toEqual([]);
}

describe('GET /s/:token (the answer page)', () => {
  it('shows the question of the journey the customer is in, rendered for them, with the link\'s score chosen, and records nothing', async () => {
    const h = await harness();
    await enterJourney(h, 'How likely are you to recommend us, {{ profile.first_name }}?');
    const t = token();
    // A mail scanner fetches every link of the message, some twice.
    for (const score of [0, 7, 10, 7]) expectPage(await h.app.inject({ method: 'GET', url: `/s/${t}?score=${score}` }), 200);
    const res = await h.app.inject({ method: 'GET', url: `/s/${t}?score=7` });
    expect(res.body).toContain('How likely are you to recommend us, Ada?');
    expect(checkedScore(res.body)).toBe('7');
    expect(res.body).toContain('Not at all likely');
    expect(res.body).toContain(`<form method="post" action="${t}">`);
    await expectNothingRecorded(h);
  });

  it('without a score offers every score with none chosen', async () => {
    const h = await harness();
    const res = await h.app.inject({ method: 'GET', url: `/s/${token({ scale: 'csat' })}` });
    expectPage(res, 200);
    expect([...res.body.matchAll(/name="score" value="(\d+)"/g)].map((m) => m[1])).toEqual(['1', '2', '3', '4', '5']);
    expect(checkedScore(res.body)).toBeUndefined();
  });

  it('escapes the question, and falls back to a question for the scale when the journey is unknown', async () => {
    const h = await harness();
    await enterJourney(h, 'Did <b>we</b> do "well"?');
    expect((await h.app.inject({ method: 'GET', url: `/s/${token()}` })).body).toContain('Did &#60;b&#62;we&#60;/b&#62; do &#34;well&#34;?');
    const other = await h.app.inject({ method: 'GET', url: `/s/${token({ workflowId: 'gone:customer-4711:1' })}` });
    expect(other.body).toContain('How likely are you to recommend us to a friend or colleague?');
  });

  it('answers a score off the scale with the page and a 400 saying which scores there are', async () => {
    const h = await harness();
    const res = await h.app.inject({ method: 'GET', url: `/s/${token()}?score=11` });
    expectPage(res, 400);
    expect(res.body).toContain('from 0 to 10');
    expect(checkedScore(res.body)).toBeUndefined();
    await expectNothingRecorded(h);
  });
});

describe('POST /s/:token (recording an answer)', () => {
  it('records a one-click answer at once and sends it through ingestion: identify with the traits, then survey_answered', async () => {
    const h = await harness();
    await enterJourney(h, 'How likely are you to recommend us?');
    const res = await post(h.app, token(), '?score=3', '');
    expectPage(res, 200);
    expect(res.body).toContain('Thank you for your answer');
    expect(res.body).toContain('Your answer: 3.');
    expect(await h.store.surveyAnswer(WORKFLOW, 'delivery-nps')).toMatchObject({ score: 3, customerId: CUSTOMER, firstAnsweredAt: NOW.toISOString() });
    expect(h.router.routed.map((e) => e.type)).toEqual(['identify', 'track']);
    const [identify, track] = h.router.routed;
    expect(identify).toMatchObject({ customerId: CUSTOMER, traits: { last_delivery_nps_score: 3, last_delivery_nps_at: NOW.toISOString() } });
    expect(track).toMatchObject<Partial<StoredEvent>>({
      customerId: CUSTOMER,
      event: 'survey_answered',
      timestamp: NOW.toISOString(),
      properties: { survey: 'delivery-nps', scale: 'nps', score: 3, journey: 'nps', step: 'ask', group: 'detractor' },
    });
    expect(await h.store.getProfile(CUSTOMER)).toMatchObject({ last_delivery_nps_score: 3, last_delivery_nps_at: NOW.toISOString() });
  });

  it('takes the page\'s form with a comment, the form\'s score winning over the link\'s', async () => {
    const h = await harness();
    const res = await post(h.app, token(), '?score=2', 'score=9&comment=%20Fast+delivery%2C+thanks!%0D%0ASee+you%20');
    expectPage(res, 200);
    expect(h.answered()).toEqual([
      expect.objectContaining({ properties: expect.objectContaining({ score: 9, group: 'promoter', comment: 'Fast delivery, thanks!\nSee you' }) }),
    ]);
  });

  it('answers JSON when asked, from a JSON body; other scales carry no NPS group', async () => {
    const h = await harness();
    const res = await post(h.app, token({ scale: 'csat', surveyId: 'support-csat' }), '', JSON.stringify({ score: 4, comment: 'Kind people' }), JSON_HEADERS);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'recorded',
      answer: { survey: 'support-csat', scale: 'csat', score: 4, comment: 'Kind people', answeredAt: NOW.toISOString() },
    });
    expect(h.answered()[0].properties).toEqual({ survey: 'support-csat', scale: 'csat', score: 4, comment: 'Kind people', journey: 'nps', step: 'ask' });
  });

  it('makes one event of a double click', async () => {
    const h = await harness();
    const t = token();
    await Promise.all([post(h.app, t, '?score=8', ''), post(h.app, t, '?score=8', '')]);
    h.later(1000);
    const again = await post(h.app, t, '?score=8', '');
    expectPage(again, 200);
    expect(h.answered()).toHaveLength(1);
    expect(h.router.routed).toHaveLength(2);
  });

  it('within the grace period a new score changes the answer and is delivered as a new survey_answered', async () => {
    const h = await harness();
    const t = token();
    await post(h.app, t, '?score=3', '');
    h.later(GRACE - MINUTE);
    const res = await post(h.app, t, '?score=9', '');
    expect(res.body).toContain('Your answer: 9.');
    expect(h.answered().map((e) => e.properties?.score)).toEqual([3, 9]);
    expect(await h.store.getProfile(CUSTOMER)).toMatchObject({ last_delivery_nps_score: 9 });
    expect(await h.store.surveyAnswer(WORKFLOW, 'delivery-nps')).toMatchObject({ score: 9, firstAnsweredAt: NOW.toISOString() });
  });

  it('after the grace period the first answer stands, and the page says so', async () => {
    const h = await harness();
    const t = token();
    await post(h.app, t, '?score=3', '');
    h.later(GRACE);
    const res = await post(h.app, t, '?score=10', 'score=10&comment=changed+my+mind');
    expectPage(res, 200);
    expect(res.body).toContain('You answered 3');
    expect(res.body).toContain('this one stands');
    expect(h.answered().map((e) => e.properties?.score)).toEqual([3]);
    expect(await h.store.surveyAnswer(WORKFLOW, 'delivery-nps')).toMatchObject({ score: 3 });
    expect(await h.store.surveyAnswer(WORKFLOW, 'delivery-nps')).not.toHaveProperty('comment');
    // Repeating the same answer is thanked the same way, with no offer to change it.
    const repeat = await post(h.app, t, '?score=3', '');
    expect(repeat.body).toContain('this one stands');
    expect(repeat.body).not.toContain('<form');
    // The page no longer offers to change it either.
    const page = await h.app.inject({ method: 'GET', url: `/s/${t}?score=10` });
    expect(page.body).toContain('this one stands');
    expect(page.body).not.toContain('<form');
  });

  it('thanks the customer while routing fails, and the next sweep delivers the answer once routing works', async () => {
    const h = await harness();
    h.router.failWith = new Error('14 UNAVAILABLE: temporal unreachable');
    const res = await post(h.app, token(), '?score=6', '');
    expectPage(res, 200);
    expect(res.body).toContain('Your answer: 6.');
    expect(h.router.routed).toEqual([]);
    expect(await h.store.getProfile(CUSTOMER)).toMatchObject({ last_delivery_nps_score: 6 });
    h.router.failWith = undefined;
    expect(await h.loop.sweep()).toMatchObject({ routed: 2 });
    expect(h.answered().map((e) => e.properties?.score)).toEqual([6]);
  });

  it('delivers the answer when the customer presses Send again after its events could not be stored', async () => {
    const h = await harness();
    const t = token();
    h.events.failing = 'recordEvents';
    const failed = await post(h.app, t, '?score=6', '');
    expectPage(failed, 503);
    expect(failed.body).toContain('Your answer is saved');
    h.events.failing = undefined;
    expectPage(await post(h.app, t, '?score=6', ''), 200);
    expect(h.answered().map((e) => e.properties?.score)).toEqual([6]);
  });

  it('answers 503 with a page saying nothing was recorded when the store is down, and a GET too', async () => {
    const h = await harness({ failingStore: true });
    const res = await post(h.app, token(), '?score=9', '');
    expectPage(res, 503);
    expect(res.body).toContain('Nothing was recorded');
    expectPage(await h.app.inject({ method: 'GET', url: `/s/${token()}?score=9` }), 503);
    await expectNothingRecorded(h);
  });

  it('refuses a forged, expired, foreign or unsubscribe token with a clear page, recording nothing', async () => {
    const h = await harness();
    const [payload, signature] = token().split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = `${Buffer.from(JSON.stringify({ ...claims, c: 'someone-else' })).toString('base64url')}.${signature}`;
    const foreign = token({}, 'another-secret-0123456789abcdef-0123456');
    const unsubscribe = createUnsubscribeToken({ customerId: CUSTOMER, channel: 'email', category: 'marketing', expiresAt: new Date(NOW.getTime() + GRACE) }, SECRET);
    for (const t of [forged, foreign, unsubscribe, 'not-a-token']) {
      const res = await post(h.app, t, '?score=9', '');
      expectPage(res, 400);
      expect(res.body).toContain('This link is not valid');
      expect(res.body).toContain('nothing was recorded');
    }
    const expired = await post(h.app, token({ expiresAt: new Date(NOW.getTime() - 1000) }), '?score=9', '');
    expectPage(expired, 410);
    expect(expired.body).toContain('This link has expired');
    const json = await post(h.app, forged, '?score=9', '{}', JSON_HEADERS);
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: 'invalid_link' });
    await expectNothingRecorded(h);
  });

  it.each([
    ['a score above the scale', '?score=11', ''],
    ['a negative score', '?score=-1', ''],
    ['a fraction', '', 'score=7.5'],
    ['no score at all', '', ''],
    ['text for a score', '', 'score=ten'],
  ])('answers %s with a 400 page naming the score, recording nothing', async (_what, query, body) => {
    const h = await harness();
    const res = await post(h.app, token(), query, body);
    expectPage(res, 400);
    expect(res.body).toContain('Nothing was recorded: the score');
    expect(res.body).toContain('0 to 10');
    await expectNothingRecorded(h);
  });

  it('refuses a comment with control characters or over 2,000 characters, naming the field, recording nothing', async () => {
    const h = await harness();
    for (const comment of ['bad\u0000byte', 'bell\u0007', 'x'.repeat(2001)]) {
      const res = await post(h.app, token(), '', JSON.stringify({ score: 5, comment }), JSON_HEADERS);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request', issues: [{ field: 'comment' }] });
    }
    const page = await post(h.app, token(), '?score=5', 'comment=esc%1B%5B31m');
    expectPage(page, 400);
    expect(page.body).toContain('Nothing was recorded: the comment must not contain control characters');
    const notObject = await post(h.app, token(), '?score=5', '[5]', JSON_HEADERS);
    expect(notObject.json()).toMatchObject({ issues: [{ field: 'body' }] });
    await expectNothingRecorded(h);
    expect((await post(h.app, token(), '', JSON.stringify({ score: 5, comment: 'y'.repeat(2000) }), JSON_HEADERS)).statusCode).toBe(200);
  });

  it('shows a comment safely: the answer page escapes what the customer wrote', async () => {
    const h = await harness();
    const t = token();
    await post(h.app, t, '?score=5', `comment=${encodeURIComponent('</textarea><script>alert(1)</script>')}`);
    const page = await h.app.inject({ method: 'GET', url: `/s/${t}` });
    expectPage(page, 200);
    expect(page.body).toContain('&#60;/textarea&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(checkedScore(page.body)).toBe('5');
  });
});

describe('answerCalls', () => {
  it('gives one revision of an answer the same messageIds, and a changed answer new ones', () => {
    const answer = {
      surveyId: 'delivery-nps',
      customerId: CUSTOMER,
      journeyId: 'nps',
      workflowId: WORKFLOW,
      stepId: 'ask',
      scale: 'nps',
      score: 7,
      firstAnsweredAt: NOW.toISOString(),
      answeredAt: NOW.toISOString(),
    };
    const ids = (a: typeof answer) => answerCalls(a).map((c) => c.messageId);
    expect(ids(answer)).toEqual(ids({ ...answer }));
    expect(new Set([...ids(answer), ...ids({ ...answer, score: 9, answeredAt: new Date(NOW.getTime() + MINUTE).toISOString() })]).size).toBe(4);
  });
});

test('the token never reaches the log: not for pages, answers, refusals, failures or a path no route matches', async () => {
  const log = captureLog();
  const h = await harness({ log });
  const t = token();
  await h.app.inject({ method: 'GET', url: `/s/${t}?score=3` });
  await post(h.app, t, '?score=3', 'comment=fine');
  await post(h.app, t, '?score=99', '');
  h.events.failing = 'recordEvents';
  expect((await post(h.app, token({ workflowId: 'other:customer-4711:1' }), '?score=3', '')).statusCode).toBe(503);
  await h.app.inject({ method: 'GET', url: `/s/${t}/extra` });
  await h.app.close();
  expect(log.lines.some((l) => l.route === '/s/:token')).toBe(true);
  expect(log.raw.join('')).not.toContain(t.split('.')[1]);
  expect(log.raw.join('')).not.toContain(t.split('.')[0]);
});
