/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core) on the
 * live system: a Temporal dev server, a real SMTP server, the SQLite store, journeys run through
 * the event API. A person logs in through the form by keyboard, reads the journeys page (checked
 * against the store), finds a customer by email and sees their run and message, and pauses a
 * journey from the console. Any browser console error or page error fails the test. Screenshots
 * go to test-artifacts/console/; with UPDATE_DOCS_IMAGES=1 the two the docs show are also written
 * to docs/images/ (not on every run: their times change, and the checkout would never be clean).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import type { RunningSystem } from '../../cli/start';
import { customerStatus } from '../../cli/live';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { launchChromium, openWatchedPage, type WatchedPage } from '../support/browser';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'console');
const docsImages = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(root, 'docs', 'images') : undefined;
const ADMIN_KEY = 'console-browser-admin-key-0123456789';
const SCRIPT = '<script>alert(1)</script>';

let browser: Browser;
let live: TestSystem;
let system: RunningSystem;
let smtp: TestSmtpServer;

beforeAll(async () => {
  browser = await launchChromium('the console browser test');
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(__dirname, '..', 'fixtures', 'console'),
    taskQueue: 'console-browser',
    env: () => ({ UNBROKEN_ADMIN_KEY: ADMIN_KEY }),
  },
  (servers) => {
    ({ live, system, smtp } = servers);
  },
);

function openPage(colorScheme: 'light' | 'dark' = 'light'): Promise<WatchedPage> {
  return openWatchedPage(browser, colorScheme);
}

/** Logs in through the form using only the keyboard; ends on the journeys page. */
async function logIn(page: Page): Promise<void> {
  await page.goto(`${system.apiUrl}/console/journeys`);
  expect(new URL(page.url()).pathname).toBe('/console/login');
  await page.getByLabel('Admin key').focus();
  await page.keyboard.type(ADMIN_KEY);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/journeys$/);
}

/** The body rows of the page's first table, each cell's text. */
async function rows(page: Page): Promise<string[][]> {
  return (await page.evaluate(`[...document.querySelector('table').tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent.trim()))`)) as string[][];
}

/** Start of today (UTC) and seven days back, as the journeys page counts them. */
function windows(): { today: string; week: string } {
  const now = new Date();
  return { today: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString(), week: new Date(now.getTime() - 7 * 86_400_000).toISOString() };
}

async function track(userId: string, event: string): Promise<void> {
  expect((await live.post('track', { userId, event })).status).toBe(200);
}

beforeAll(async () => {
  const people = [
    { userId: 'ann', traits: { email: 'ann@example.com', first_name: 'Ann', nickname: SCRIPT, plan: 'pro' } },
    { userId: 'bob', traits: { email: 'bob@example.com', first_name: 'Bob' } },
    { userId: 'carl', traits: { first_name: 'Carl' } },
  ];
  for (const p of people) expect((await live.post('identify', p)).status).toBe(200);
  for (const p of people) await track(p.userId, 'signed_up');
  await track('bob', 'promo_viewed');
  await until('the welcome mails and the promo', () => (smtp.messages.length >= 3 ? true : undefined));
  await until("carl's skipped hello", async () => {
    const s = await customerStatus(system.store, 'carl');
    return s.journeys[0]?.steps.some((step) => step.kind === 'skipped') ? true : undefined;
  });
  await until('ann and bob waiting after their hello', async () => {
    const inside = await system.store.activeAtSteps('welcome');
    return inside.reduce((n, a) => n + a.customers, 0) === 3 ? true : undefined;
  });
  await track('ann', 'purchased');
  await until('ann converted', async () => ((await customerStatus(system.store, 'ann')).journeys.find((j) => j.journey === 'welcome')?.outcome === 'converted' ? true : undefined));
}, 120_000);

test('the journeys page, after logging in by keyboard, shows what the store counts for every journey', async () => {
  const { context, page, problems } = await openPage();
  try {
    await logIn(page);
    expect(await page.title()).toBe('Journeys · Unbroken');
    const shown = await rows(page);
    const deployed = await system.store.deployedJourneys();
    const overview = await system.store.journeyOverview(
      deployed.map((d) => d.journeyId),
      windows(),
    );
    expect(shown.map((r) => r[0])).toEqual(deployed.map((d) => d.journeyId).sort());
    for (const d of deployed) {
      const n = overview.find((o) => o.journeyId === d.journeyId);
      if (n === undefined) throw new Error(`no numbers for ${d.journeyId}`);
      const row = shown.find((r) => r[0] === d.journeyId) ?? [];
      const converted = n.outcomes.converted ?? 0;
      expect(row.slice(1, 3)).toEqual([d.paused ? 'paused' : 'live', d.version.slice(0, 12)]);
      expect(row.slice(4, 8)).toEqual([n.entered.today, n.entered.week, n.entered.all, n.active].map(String));
      expect(row[9]).toBe(`${((converted / n.entered.all) * 100).toFixed(1)} %`);
      expect(row.slice(10, 12)).toEqual([String(n.sent), String(n.skipped)]);
    }
    // What happened, as a person reads it: three entered welcome, one converted, two are inside.
    const welcome = shown.find((r) => r[0] === 'welcome') ?? [];
    expect(welcome.slice(4, 12)).toEqual(['3', '3', '3', '2', 'converted 1', '33.3 %', '2', '1']);
    expect(shown.find((r) => r[0] === 'promo')?.slice(4, 12)).toEqual(['1', '1', '1', '0', 'completed 1', '0.0 %', '1', '0']);
    await page.screenshot({ path: path.join(artifacts, 'journeys.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'console-journeys.png'), fullPage: true });
    // Nothing pushes the page wider than the window.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    // Nor does the table need scrolling at this width: every button is in view.
    expect(await page.evaluate(`[...document.querySelectorAll('.scroll')].every((d) => d.scrollWidth <= d.clientWidth)`)).toBe(true);
    // The keyboard's first stop is the skip link, then the navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Journeys');
    // A script with the Bearer key reads the same numbers as JSON.
    const res = await fetch(`${system.apiUrl}/console/journeys`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const json = (await res.json()) as { journeys: { journey: string; entered: { all: number }; inside: number; sent: number; skipped: number; conversionRate: number | null }[] };
    expect(json.journeys.map((j) => [j.journey, j.entered.all, j.inside, j.sent, j.skipped, j.conversionRate])).toEqual([
      ['promo', 1, 0, 1, 0, 0],
      ['welcome', 3, 2, 2, 1, 1 / 3],
    ]);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a customer found by email shows their run, the message they got, and a script in a trait as text', async () => {
  const { context, page, problems } = await openPage();
  try {
    await logIn(page);
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Customer id, email or phone').fill('  ANN@example.com ');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL(/\/console\/customers\/ann$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Customer ann');
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain(SCRIPT);
    expect(await page.locator('script').count()).toBe(0);
    expect(text).toMatch(/welcome · entry 1Entered .* converted/);
    expect(text).toContain('Welcome, Ann');
    const messages = await page.evaluate(
      `[...document.querySelectorAll('h2')].find((h) => h.textContent === 'Messages').nextElementSibling.querySelector('table').tBodies[0].rows.length`,
    );
    expect(messages).toBe(1);
    expect(text).toContain('ann@example.com · Welcome, Ann');
    await page.screenshot({ path: path.join(artifacts, 'customer-ann.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'console-customer.png'), fullPage: true });

    // Why didn't Carl get it? His page says so.
    await page.getByLabel('Customer id, email or phone').fill('carl');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/customers\/carl$/);
    const carl = (await page.textContent('main')) ?? '';
    expect(carl).toContain('why: no_address');
    expect(carl).toContain('inside, at');
    await page.screenshot({ path: path.join(artifacts, 'customer-carl.png'), fullPage: true });

    await page.getByLabel('Customer id, email or phone').fill('nobody@example.com');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=nobody/);
    expect(await page.getByRole('status').textContent()).toContain('No customer has the id, email or phone “nobody@example.com”');
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

test('pausing a journey from the console marks it paused in the store, resuming marks it live, and logging out ends the session', async () => {
  const { context, page, problems } = await openPage('dark');
  try {
    await logIn(page);
    await page.getByRole('button', { name: 'Pause promo' }).click();
    await page.waitForURL(/done=paused/);
    expect(await page.getByRole('status').textContent()).toBe('promo is paused: nobody new enters.');
    expect((await system.store.deployedJourneys()).find((d) => d.journeyId === 'promo')?.paused).toBe(true);
    expect((await rows(page)).find((r) => r[0] === 'promo')?.[1]).toBe('paused');
    await page.screenshot({ path: path.join(artifacts, 'journeys-paused-dark.png'), fullPage: true });

    await page.getByRole('button', { name: 'Resume promo' }).click();
    await page.waitForURL(/done=resumed/);
    expect((await system.store.deployedJourneys()).find((d) => d.journeyId === 'promo')?.paused).toBe(false);

    // Logging out ends the session: the pages send the browser back to the form.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/console\/login$/);
    await page.goto(`${system.apiUrl}/console/customers/ann`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});
