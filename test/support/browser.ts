/**
 * The real headless Chromium that page tests drive: Debian's `chromium` (or CHROMIUM_PATH), never
 * a browser downloaded at run time. A machine without it fails the test with how to install it,
 * rather than skipping the pages silently.
 */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts Chromium for `what` (named in the error when it is missing). */
export async function launchChromium(what: string): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: ${what} needs a real browser. Install it with ` +
        '`sudo apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** A fresh page whose console errors, page errors and dialogs are collected in `problems` (a test expects none). */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

/** Opens a page in a new context (1280×900, light or dark) that records every problem the page reports. */
export async function openWatchedPage(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, problems };
}
