/**
 * Surveys on real servers: the live system (what `unbroken start` runs) on a Temporal dev server,
 * a real SMTP server, a SQLite store and a real receiver for the support tickets, and
 * `unbroken feedback` as a user runs it against that store.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { customerStatus } from '../../cli/live';
import type { FeedbackReport } from '../../cli/feedback';
import type { RunningSystem } from '../../cli/start';
import type { ReceivedMail, TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { stateQuery } from '../../workflows/definitions';

const root = path.resolve(__dirname, '..', '..');
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let tmp: string;
let temporal: TestWorkflowEnvironment;
let receiver: http.Server;
const tickets: Record<string, unknown>[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-surveys-'));
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      tickets.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const defs = path.join(tmp, 'definitions');
  fs.cpSync(path.join(__dirname, '..', 'fixtures', 'surveys'), defs, { recursive: true });
  const journey = path.join(defs, 'journeys', 'delivery-nps.yaml');
  const port = (receiver.address() as { port: number }).port;
  fs.writeFileSync(journey, fs.readFileSync(journey, 'utf8').replace('http://127.0.0.1:1/', `http://127.0.0.1:${port}/`));
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const databaseUrl = () => `sqlite:${path.join(tmp, 'profiles.sqlite')}`;

// Declared after the hook above, so the definitions (with the receiver's port) exist when it starts.
// The ticket receiver listens on loopback, which outgoing requests reach only when allowed.
useLiveSystem(
  { temporal: devServerEnv, definitions: () => path.join(tmp, 'definitions'), taskQueue: 'surveys-e2e', env: () => ({ DATABASE_URL: databaseUrl(), UNBROKEN_HTTP_ALLOW_PRIVATE: '127.0.0.1' }) },
  (servers) => {
    ({ smtp, live, system, env: temporal } = servers);
  },
);

async function deliverOrder(customer: string): Promise<ReceivedMail> {
  expect((await live.post('identify', { userId: customer, traits: { email: `${customer}@example.com` } })).status).toBe(200);
  expect((await live.post('track', { userId: customer, event: 'order_delivered' })).status).toBe(200);
  const mail = await until(`the survey mail to ${customer}`, () => smtp.messages.find((m) => m.to === `${customer}@example.com` && m.subject === 'How did we do?'));
  // A wait_for hears events from when it starts; the mail may arrive a moment before the run gets there.
  const handle = temporal.client.workflow.getHandle(`journey:delivery-nps:${customer}:1`);
  await until(`${customer}'s run to wait for the answer`, async () => ((await handle.query(stateQuery)).currentStep === 'wait-for-answer' ? true : undefined));
  return mail;
}

/** Every score link in a text, by score, as a path on the event API. */
function scoreLinks(text: string): Map<number, string> {
  const links = new Map<number, string>();
  for (const [, link, score] of text.matchAll(/(https?:\/\/[^\s"<>]+\/s\/[A-Za-z0-9_.-]+\?score=(\d+))/g)) {
    const url = new URL(link.replace(/&amp;/g, '&'));
    links.set(Number(score), `${url.pathname}${url.search}`);
  }
  return links;
}

/** What a one-click mail reader (or the page's Send button) does: POST the link. */
function answer(link: string, body?: Record<string, unknown>): Promise<Response> {
  return fetch(`${system.apiUrl}${link}`, {
    method: 'POST',
    headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function run(customer: string, journey: string, ended = true) {
  return until(`${customer}'s ${journey} run${ended ? ' to end' : ''}`, async () => {
    const found = (await customerStatus(system.store, customer)).journeys.find((j) => j.journey === journey);
    return found && (!ended || found.outcome) ? found : undefined;
  });
}

const subjectsTo = (customer: string) => smtp.messages.filter((m) => m.to === `${customer}@example.com`).map((m) => m.subject);

test('a survey mail carries a signed link per score; opening one records nothing, a POST records it and takes the detractor branch', async () => {
  const mail = await deliverOrder('dana');
  const textLinks = scoreLinks(mail.text ?? '');
  expect([...textLinks.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(mail.text).toContain('How likely are you to recommend us to a friend?');
  // The buttons in the HTML part are the same links.
  expect(scoreLinks(mail.html ?? '')).toEqual(textLinks);

  // A mail scanner opening the link gets the page, and nothing is answered.
  const page = await fetch(`${system.apiUrl}${textLinks.get(3)}`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('How likely are you to recommend us to a friend?');
  expect((await system.store.surveyReport({ surveyId: 'delivery-nps' })).answers.filter((a) => a.customerId === 'dana')).toEqual([]);
  expect((await run('dana', 'delivery-nps', false)).outcome).toBeUndefined();

  const res = await answer(textLinks.get(3)!, { comment: 'The parcel was late' });
  expect(res.status).toBe(200);
  const finished = await run('dana', 'delivery-nps');
  expect(finished.outcome).toBe('completed');
  expect(finished.steps.map((s) => s.step)).toContain('support-ticket');
  expect(tickets).toContainEqual({ customer: 'dana', score: 3, comment: 'The parcel was late' });
  await until('the apology', () => (subjectsTo('dana').includes("We're sorry about the 3") ? true : undefined));
  expect(subjectsTo('dana')).toEqual(['How did we do?', "We're sorry about the 3"]);
  expect(await system.store.getProfile('dana')).toMatchObject({ last_delivery_nps_score: 3 });
});

test('a forged link records nothing and leaves the journey waiting; the real one then takes the promoter branch', async () => {
  const links = scoreLinks((await deliverOrder('fred')).text ?? '');
  const link = links.get(10)!;
  const [, token] = /\/s\/([^?]+)/.exec(link)!;
  const [payload, signature] = token.split('.');
  const forgedPayload = `${payload.slice(0, -2)}${payload.slice(-2) === 'AA' ? 'AB' : 'AA'}`;
  for (const forged of [`${forgedPayload}.${signature}`, `${payload}.${signature.slice(0, -2)}xx`]) {
    const res = await answer(`/s/${forged}?score=10`);
    expect(res.status).toBe(400);
  }
  expect((await system.store.surveyReport({ surveyId: 'delivery-nps' })).answers.filter((a) => a.customerId === 'fred')).toEqual([]);
  expect((await run('fred', 'delivery-nps', false)).outcome).toBeUndefined();

  expect((await answer(link)).status).toBe(200);
  expect((await run('fred', 'delivery-nps')).outcome).toBe('completed');
  await until('the review request', () => (subjectsTo('fred').length === 2 ? true : undefined));
  expect(subjectsTo('fred')).toEqual(['How did we do?', 'A 10? Would you write a review?']);
  expect(tickets.filter((t) => t.customer === 'fred')).toEqual([]);
});

test('the fatigue rule stops a second survey from another journey; a customer never asked gets it', async () => {
  await deliverOrder('gina');
  expect((await live.post('identify', { userId: 'carl', traits: { email: 'carl@example.com' } })).status).toBe(200);
  for (const customer of ['gina', 'carl']) expect((await live.post('track', { userId: customer, event: 'ticket_closed' })).status).toBe(200);

  const held = await run('gina', 'support-csat');
  expect(held.steps.find((s) => s.step === 'ask-csat')).toMatchObject({ kind: 'skipped', detail: expect.objectContaining({ reason: 'survey_fatigue' }) });
  expect((await run('carl', 'support-csat')).steps.find((s) => s.step === 'ask-csat')?.kind).toBe('sent');
  await until('the csat mail to carl', () => smtp.messages.find((m) => m.to === 'carl@example.com'));
  expect(subjectsTo('gina')).toEqual(['How did we do?']);
});

test('unbroken feedback --json computes NPS from the answers: 3 promoters and 2 detractors of 10 answers give 10', async () => {
  const since = new Date().toISOString();
  const scores = [0, 6, 7, 7, 7, 8, 8, 9, 9, 10];
  const customers = scores.map((_, i) => `nps-${i}`);
  const mails = await Promise.all([...customers, 'silent-1', 'silent-2'].map((c) => deliverOrder(c)));
  for (const [i, score] of scores.entries()) expect((await answer(scoreLinks(mails[i].text ?? '').get(score)!)).status).toBe(200);
  for (const customer of customers) await run(customer, 'delivery-nps');

  const env = { ...process.env, DATABASE_URL: databaseUrl(), UNBROKEN_DATA_DIR: tmp };
  const cli = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'feedback', '--survey', 'delivery-nps', '--since', since, '--json'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  const report = JSON.parse(cli.stdout) as FeedbackReport;
  expect(report).toMatchObject({ survey: 'delivery-nps', scale: 'nps', by: 'month' });
  expect(report.periods).toHaveLength(1);
  expect(report.periods[0]).toMatchObject({ sent: 12, answered: 10, response_rate: 0.8333, score: 10, promoters: 3, passives: 5, detractors: 2 });
}, 120_000);
