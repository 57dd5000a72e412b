/**
 * The real headless Chromium that page tests drive: Debian's `chromium` (or CHROMIUM_PATH), never
 * a browser downloaded at run time. A machine without it fails the test with how to install it,
 * rather than skipping the pages silently.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
