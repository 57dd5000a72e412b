/**
 * Links in mail lead only where a reader expects (http, https, mailto, tel, relative): a link of
 * any other scheme, written by the template's author or filled in from a profile value, arrives
 * as plain text. Sent through `sendMessage` to a real SMTP server and read back as received.
 */
import { smtpMailer } from '../../activities/mailer';
import { createSendMessage } from '../../activities/send-message';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { cartReminder, sendInput, tempStore } from './helpers';

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let smtp: TestSmtpServer;

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  smtp = await startSmtpServer();
});

afterEach(async () => {
  await smtp.stop();
  await cleanup();
});

async function mailedHtml(html: string, traits: Record<string, unknown> = {}): Promise<string> {
  await store.identify('c1', { email: 'ann@example.com', ...traits });
  const send = createSendMessage({ store, mailer: smtpMailer(smtp.url), mailFrom: 'shop@example.com' });
  expect(await send(sendInput(cartReminder({ category: 'transactional', html }), 'links'))).toMatchObject({ status: 'sent' });
  const [mail] = await smtp.waitFor(1);
  return mail.html ?? '';
}

it.each([['javascript:alert(document.cookie)'], ['JaVaScRiPt:alert(1)'], ['  javascript:alert(1)'], ['data:text/html,<b>x</b>'], ['vbscript:msgbox(1)'], ['java\tscript:alert(1)']])(
  'a profile value %j in an href arrives as no link',
  async (website) => {
    const html = await mailedHtml('<p><a href="{{ profile.website }}">Your site</a> <a href="https://shop.example.com/?u={{ profile.website | url_encode }}">shop</a></p>', { website });
    expect(html).toContain('Your site</a>');
    expect(html).not.toMatch(/href="\s*(java|data|vbs)/i);
    expect(html.match(/href=/g)).toHaveLength(1);
    expect(html).toContain('href="https://shop.example.com/?u=');
  },
);

it.each([
  ['<a href="&#106;avascript:alert(1)">a</a>'],
  ['<a href="javascript&colon;alert(1)">a</a>'],
  ['<a href="java&#x09;script:alert(1)">a</a>'],
  ["<a href='DATA:text/html;base64,PHNjcmlwdD4='>a</a>"],
])('an authored link %j arrives as no link', async (link) => {
  const html = await mailedHtml(`<p>${link} and <a href="mailto:help@example.com">help</a></p>`);
  expect(html.match(/href=/g)).toEqual(['href=']);
  expect(html).toContain('href="mailto:help@example.com"');
});
