/**
 * The page of one journey in a real headless Chromium on the live system (Temporal dev server,
 * real SMTP, SQLite store), with a journey that has a goal and a split run through the event API:
 * a person opens it from the journeys page by keyboard, reads each step's numbers in the picture
 * and in the table (checked against the store), switches version with the selector, and no
 * console error happens. Screenshots go to test-artifacts/console/ (and with UPDATE_DOCS_IMAGES=1
 * to docs/images/console-journey.png).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { customerStatus, deploy } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { JourneyPlan } from '../../compiler/plan';
import { splitReports } from '../../core/splits';
import type { JourneyPageNumbers } from '../../profiles/store';
import { launchChromium, openWatchedPage, type WatchedPage } from '../support/browser';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'console');
const docsImages = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(root, 'docs', 'images') : undefined;
const ADMIN_KEY = 'journey-page-admin-key-0123456789';
const JOURNEY = 'trial';

let browser: Browser;
let live: TestSystem;
let system: RunningSystem;
/** A copy of the fixture, changed later to deploy a second version. */
let definitions: string;
let firstVersion: string;

beforeAll(async () => {
  browser = await launchChromium('the journey page browser test');
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  if (definitions) fs.rmSync(definitions, { recursive: true, force: true });
});

useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => {
      definitions = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-journey-page-'));
      fs.cpSync(path.join(__dirname, '..', 'fixtures', 'console-journey'), definitions, { recursive: true });
      return definitions;
    },
    taskQueue: 'console-journey-page',
    env: () => ({ UNBROKEN_ADMIN_KEY: ADMIN_KEY }),
  },
  (servers) => {
    ({ live, system } = servers);
  },
);

async function track(userId: string, event: string): Promise<void> {
  expect((await live.post('track', { userId, event })).status).toBe(200);
}

beforeAll(async () => {
  const people = ['ann', 'bob', 'cid', 'dee', 'eve'].map((userId) => ({ userId, traits: userId === 'eve' ? { first_name: 'Eve' } : { email: `${userId}@example.com`, first_name: userId } }));
  for (const p of people) expect((await live.post('identify', p)).status).toBe(200);
  for (const p of people) await track(p.userId, 'trial_started');
  // Everyone reaches the wait at the end (eve without her hello: she has no address): a run in
  // the quiet variant has its split recorded last, one with tips its tip.
  const settled = async (customer: string) => {
    const steps = (await customerStatus(system.store, customer)).journeys[0]?.steps ?? [];
    return steps.some((s) => s.step === 'tip' || (s.step === 'pick' && s.detail?.variant === 'quiet'));
  };
  await until('everyone at the wait after the split', async () => ((await Promise.all(people.map((p) => settled(p.userId)))).every(Boolean) ? true : undefined));
  await track('ann', 'upgraded');
  await until('ann converted', async () => ((await system.store.journeyPage(JOURNEY, { since: new Date(0).toISOString() })).outcomes.converted === 1 ? true : undefined));
  firstVersion = (await system.store.deployedJourneys()).find((d) => d.journeyId === JOURNEY)?.version ?? '';
  // A second version: one more step at the end. Nobody has entered it yet.
  const file = path.join(definitions, 'journeys', 'trial.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')}  - id: follow-up\n    send: journey-tip\n`);
  await deploy(system.store, definitions);
}, 120_000);

function openPage(colorScheme: 'light' | 'dark' = 'light'): Promise<WatchedPage> {
  return openWatchedPage(browser, colorScheme);
}

async function logIn(page: Page): Promise<void> {
  await page.goto(`${system.apiUrl}/console/login`);
  await page.getByLabel('Admin key').fill(ADMIN_KEY);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/journeys$/);
}

/** The steps table under the picture: step id → [kind, passed, waiting, sent, skipped, reasons]. */
async function stepsTable(page: Page): Promise<Record<string, string[]>> {
  const rows = (await page.evaluate(
    `[...document.querySelector('figure.picture + .scroll table').tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent.trim()))`,
  )) as string[][];
  return Object.fromEntries(rows.map(([id, ...rest]) => [id, rest]));
}

/** The note lines drawn in the box of `stepId`. */
async function boxNotes(page: Page, stepId: string): Promise<string[]> {
  return page.locator(`g.node[data-step="${stepId}"] tspan[font-style="italic"]`).allTextContents();
}

function expectTableMatches(shown: Record<string, string[]>, n: JourneyPageNumbers, stepIds: readonly string[]): void {
  for (const id of stepIds) {
    const s = n.steps.find((x) => x.stepId === id) ?? { passed: 0, waiting: 0, sent: 0, skipped: {} };
    const skipped = Object.values(s.skipped).reduce((a, b) => a + b, 0);
    expect([id, ...(shown[id] ?? []).slice(1, 5)]).toEqual([id, ...[s.passed, s.waiting, s.sent, skipped].map(String)]);
  }
}

test('the journey page, opened from the journeys page by keyboard, shows each step’s numbers in its box and in the table, as the store counts them', async () => {
  const { context, page, problems } = await openPage();
  try {
    await logIn(page);
    await page.getByRole('link', { name: JOURNEY, exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/console/journeys/${JOURNEY}$`));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Journey ${JOURNEY}`);

    const n = await system.store.journeyPage(JOURNEY, { since: new Date(0).toISOString() });
    // What happened, as a person reads it: five entered, ann converted, four wait; eve had no address.
    expect([n.entered, n.active, n.outcomes]).toEqual([5, 4, { converted: 1 }]);
    const facts = (await page.textContent('dl.facts')) ?? '';
    expect(facts).toContain('Entered5');
    expect(facts).toContain('Inside now4');
    expect(facts).toContain('Conversion20.0 %');
    expect(facts).toContain('Numbers ofall versions');

    const hello = n.steps.find((s) => s.stepId === 'hello');
    expect(hello).toMatchObject({ passed: 5, sent: 4, skipped: { no_address: 1 } });
    expect(await boxNotes(page, 'hello')).toEqual([`passed 5 · waiting ${hello?.waiting ?? 0}`, 'sent 4 · skipped 1', 'skipped: no_address 1']);
    const pause = n.steps.find((s) => s.stepId === 'pause');
    expect(await boxNotes(page, 'pause')).toEqual([`passed ${pause?.passed ?? 0} · waiting ${pause?.waiting ?? 0}`]);
    expect(await page.locator('g.node.start tspan[font-style="italic"]').allTextContents()).toEqual(['entered 5']);
    // The step's name from YAML is drawn as text, not markup.
    expect(await page.locator('g.node[data-step="hello"] text').textContent()).toContain('Welcome to the <b>trial</b>');
    expect(await page.locator('main b').count()).toBe(0);

    // The live version (with follow-up) is drawn; all versions are counted, and the table says so.
    const shown = await stepsTable(page);
    expectTableMatches(shown, n, ['hello', 'pick', 'tip', 'pause', 'follow-up']);
    expect(shown.hello?.[5]).toBe('no_address 1');

    // Ann's conversion today is in the chart and its table.
    const today = new Date().toISOString().slice(0, 10);
    expect(await page.locator('figure.picture svg rect title').allTextContents()).toContain(`${today}: converted 1`);
    await page.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('details table tbody tr').allTextContents()).toEqual([`${today}1`]);

    // The split: each arm with who entered and converted, as the store counts them, and a verdict
    // that does not pretend with five customers.
    const live = (await system.store.deployedJourneys()).find((d) => d.journeyId === JOURNEY);
    const splits = splitReports(live?.plan as JourneyPlan, await system.store.splitCounts(JOURNEY));
    expect(splits.map((r) => r.step)).toEqual(['pick']);
    const arms = splits[0].variants.map((a) => [a.name, String(a.entered), String(a.converted)]);
    expect(arms.map((a) => Number(a[1])).reduce((x, y) => x + y, 0)).toBe(5);
    const armRows = (await page.evaluate(
      `[...document.querySelector('p.verdict + .scroll table').tBodies[0].rows].map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent.trim()))`,
    )) as string[][];
    expect(armRows).toEqual(arms.map(([name, ...rest], i) => [i === 0 ? `${name} (baseline)` : name, ...rest]));
    expect(await page.textContent('p.verdict')).toBe('Not enough data yet.');

    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'journey.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'console-journey.png'), fullPage: true });
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

test('the version selector limits the numbers and the picture to one version, by keyboard, in dark mode too', async () => {
  const { context, page, problems } = await openPage('dark');
  try {
    await logIn(page);
    await page.goto(`${system.apiUrl}/console/journeys/${JOURNEY}`);
    const versions = (await system.store.journeyPage(JOURNEY, { since: new Date(0).toISOString() })).versions;
    expect(versions.length).toBe(2);
    const latest = versions[0].version;
    expect(await page.evaluate(`[...document.querySelectorAll('#version option')].map((o) => o.value)`)).toEqual(['', latest, firstVersion]);

    // The first version: its picture has no follow-up, its numbers are everyone's.
    await page.getByLabel('Version').selectOption(firstVersion);
    await page.getByRole('button', { name: 'Show' }).press('Enter');
    await page.waitForURL(new RegExp(`version=${firstVersion}`));
    expect(await page.locator('g.node[data-step="follow-up"]').count()).toBe(0);
    const v1 = await system.store.journeyPage(JOURNEY, { version: firstVersion, since: new Date(0).toISOString() });
    expectTableMatches(await stepsTable(page), v1, ['hello', 'pick', 'tip', 'pause']);
    expect(await page.locator('#version option[selected]').getAttribute('value')).toBe(firstVersion);

    // The new version: drawn with follow-up, nobody in it yet.
    await page.getByLabel('Version').selectOption(latest);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(new RegExp(`version=${latest}`));
    expect(await boxNotes(page, 'follow-up')).toEqual(['passed 0 · waiting 0', 'sent 0 · skipped 0']);
    expect((await page.textContent('dl.facts')) ?? '').toContain('Entered0');
    await page.screenshot({ path: path.join(artifacts, 'journey-new-version-dark.png'), fullPage: true });
    // The picture keeps its light panel in dark mode, so its dark text stays readable.
    expect(await page.evaluate(`getComputedStyle(document.querySelector('figure.picture')).backgroundColor`)).toBe('rgb(255, 255, 255)');
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a script with the admin key gets the same numbers as JSON, without it nothing; an unknown version, a bad id and an unknown journey are refused naming the field', async () => {
  // Without the admin key the page opens to nobody; the write key is not it.
  expect((await fetch(`${system.apiUrl}/console/journeys/${JOURNEY}`)).status).toBe(401);
  expect((await fetch(`${system.apiUrl}/console/journeys/${JOURNEY}`, { headers: { authorization: `Bearer ${system.writeKey}` } })).status).toBe(401);
  const get = (pathAndQuery: string) => fetch(`${system.apiUrl}/console/journeys/${pathAndQuery}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const res = await get(`${JOURNEY}?version=${firstVersion}`);
  expect(res.status).toBe(200);
  const json = (await res.json()) as Record<string, unknown>;
  const n = await system.store.journeyPage(JOURNEY, { version: firstVersion, since: new Date(0).toISOString() });
  expect(json).toMatchObject({ journey: JOURNEY, status: 'live', version: firstVersion, entered: 5, inside: 4, outcomes: { converted: 1 }, conversionRate: 0.2, steps: n.steps, versions: n.versions });
  const first = await system.store.journeyVersion(JOURNEY, firstVersion);
  expect(json.splits).toEqual(JSON.parse(JSON.stringify(splitReports(first?.plan as JourneyPlan, await system.store.splitCounts(JOURNEY, firstVersion)))));

  const unknown = await get(`${JOURNEY}?version=nope`);
  expect([unknown.status, ((await unknown.json()) as { field: string }).field]).toEqual([400, 'version']);
  const repeated = await get(`${JOURNEY}?version=a&version=b`);
  expect([repeated.status, ((await repeated.json()) as { field: string }).field]).toEqual([400, 'version']);
  const bad = await get(encodeURIComponent('<script>'));
  expect([bad.status, ((await bad.json()) as { field: string }).field]).toEqual([400, 'id']);
  const never = await get('never-deployed');
  expect([never.status, ((await never.json()) as { field: string }).field]).toEqual([404, 'id']);
  // A browser gets the refusal as a page, the bad value as text.
  const page = await fetch(`${system.apiUrl}/console/journeys/${JOURNEY}?version=${encodeURIComponent('<b>x</b>')}`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, accept: 'text/html' } });
  expect(page.status).toBe(400);
  const html = await page.text();
  expect(html).toContain('version: journey trial has no deployed version');
  expect(html).not.toContain('<b>x</b>');
});
