/**
 * The Messages page and the template preview in a real headless Chromium on the live system (a
 * Temporal dev server, a real SMTP server, the SQLite store, journeys run through the event API).
 * A person opens Messages from the navigation, filters it by journey, and opens a template's
 * preview for a real customer, whose HTML part shows in its sandboxed frame. Any console error,
 * page error or dialog fails the test. Screenshots go to test-artifacts/console/; with
 * UPDATE_DOCS_IMAGES=1 also to docs/images/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { launchChromium, openWatchedPage } from '../support/browser';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'console');
const docsImages = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(root, 'docs', 'images') : undefined;
const ADMIN_KEY = 'console-messages-admin-key-0123456789';

let browser: Browser;
let live: TestSystem;
let system: RunningSystem;
let smtp: TestSmtpServer;

beforeAll(async () => {
  browser = await launchChromium('the console messages test');
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(__dirname, '..', 'fixtures', 'console-messages'),
    taskQueue: 'console-messages',
    env: () => ({ UNBROKEN_ADMIN_KEY: ADMIN_KEY }),
  },
  (servers) => {
    ({ live, system, smtp } = servers);
  },
);

beforeAll(async () => {
  const people = [
    { userId: 'ann', traits: { email: 'ann@example.com', first_name: 'Ann' } },
    { userId: 'bob', traits: { email: 'bob@example.com', first_name: 'Bob' } },
    { userId: 'carl', traits: { first_name: 'Carl' } },
  ];
  for (const p of people) expect((await live.post('identify', p)).status).toBe(200);
  for (const p of people) expect((await live.post('track', { userId: p.userId, event: 'signed_up' })).status).toBe(200);
  expect((await live.post('track', { userId: 'bob', event: 'promo_viewed' })).status).toBe(200);
  await until('the welcome mails and the promo', () => (smtp.messages.length >= 3 ? true : undefined));
  await until("carl's skipped hello", async () => ((await system.store.messagesPage({ limit: 10, status: 'skipped' })).messages.length === 1 ? true : undefined));
}, 120_000);

test('Messages from the navigation lists the sends, filters by journey, and a template opens its preview for a real customer', async () => {
  const { context, page, problems } = await openWatchedPage(browser);
  try {
    await page.goto(`${system.apiUrl}/console/login`);
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/journeys$/);

    await page.getByRole('link', { name: 'Messages' }).click();
    await page.waitForURL(/\/console\/messages$/);
    const cells = async () => (await page.evaluate(`[...document.querySelector('table').tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent.trim()))`)) as string[][];
    const all = await cells();
    const stored = (await system.store.messagesPage({ limit: 50 })).messages;
    expect(all.map((r) => [r[1], r[2], r[6]])).toEqual(stored.map((m) => [m.customerId, m.journeyId, m.status]));
    expect(all).toHaveLength(4);
    expect(all.find((r) => r[1] === 'carl')?.[7]).toBe('why: no_address');
    expect(all.find((r) => r[1] === 'bob' && r[2] === 'promo')?.[7]).toBe('bob@example.com · Ten percent off this week');
    await page.screenshot({ path: path.join(artifacts, 'messages.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'console-messages.png'), fullPage: true });

    await page.getByLabel('Journey').selectOption('promo');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/journey=promo/);
    expect((await cells()).map((r) => [r[1], r[2]])).toEqual([['bob', 'promo']]);

    // The template of Ann's welcome mail, rendered for her stored profile.
    await page.getByLabel('Journey').selectOption('welcome');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/journey=welcome/);
    await page.getByRole('row', { name: /ann/ }).getByRole('link', { name: 'messages-hello' }).click();
    await page.waitForURL(/\/console\/templates\/welcome\/messages-hello\?customer=ann/);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('Welcome, Ann');
    expect(text).toContain('Hello Ann. Unsubscribe any time: ');
    const frame = page.frameLocator('iframe.mail');
    await expect(frame.locator('h1').textContent()).resolves.toBe('Hello Ann');
    await page.screenshot({ path: path.join(artifacts, 'preview.png'), fullPage: true });
    if (docsImages) await page.screenshot({ path: path.join(docsImages, 'console-preview.png'), fullPage: true });

    // Carl has no address: the preview says why a send would be skipped.
    await page.getByLabel('Customer id, email or phone').fill('carl');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/customer=carl/);
    expect(await page.getByRole('alert').textContent()).toContain('would be skipped (no_address)');
    // Nothing was sent or stored by previewing.
    expect((await system.store.messagesPage({ limit: 50 })).messages).toHaveLength(4);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});
