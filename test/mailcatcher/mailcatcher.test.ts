import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { MailCatcherStartError, startMailCatcher, type CaughtMail, type MailCatcher } from '../../mailcatcher';

let dir: string;
let catcher: MailCatcher | undefined;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'unbroken-mailcatcher-')), 'mail');
});

afterEach(async () => {
  await catcher?.stop();
  catcher = undefined;
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

async function start(extra: Partial<Parameters<typeof startMailCatcher>[0]> = {}): Promise<MailCatcher> {
  catcher = await startMailCatcher({ dir, smtpPort: 0, httpPort: 0, ...extra });
  return catcher;
}

function send(c: MailCatcher, mail: nodemailer.SendMailOptions) {
  const transport = nodemailer.createTransport({ url: c.smtpUrl, pool: false } as nodemailer.TransportOptions);
  return transport.sendMail({ from: 'Shop <shop@example.com>', to: 'ada@example.com', ...mail });
}

async function listed(c: MailCatcher): Promise<CaughtMail[]> {
  const res = await fetch(new URL('/api/messages', c.webUrl));
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: CaughtMail[] }).messages;
}

const EVIL_SUBJECT = '<script>alert("x")</script> & your cart';

describe('mail catcher', () => {
  it('stores a sent message as an .eml file and lists it with its parsed fields in the JSON API', async () => {
    const c = await start();
    await send(c, {
      to: 'Ada Lovelace <ada@example.com>',
      bcc: 'audit@example.com',
      subject: 'Your cart misses you',
      text: 'Come back, Ada.',
      html: '<p>Come back, <b>Ada</b>.</p>',
      messageId: '<cart-1@unbroken.test>',
      headers: { 'List-Unsubscribe': '<https://shop.example.com/u/ada>' },
    });

    const [mail, ...rest] = await listed(c);
    expect(rest).toHaveLength(0);
    expect(mail).toMatchObject({
      messageId: '<cart-1@unbroken.test>',
      from: 'Shop <shop@example.com>',
      to: 'Ada Lovelace <ada@example.com>',
      subject: 'Your cart misses you',
      text: 'Come back, Ada.',
      html: '<p>Come back, <b>Ada</b>.</p>',
      envelope: { from: 'shop@example.com', to: ['ada@example.com', 'audit@example.com'] },
    });
    expect(mail!.headers['list-unsubscribe']).toBe('<https://shop.example.com/u/ada>');
    expect(mail!.id).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/);
    expect(Date.parse(mail!.date!)).not.toBeNaN();
    expect(readdirSync(dir)).toEqual([`${mail!.id}.eml`]);
    expect(c.messages().map((m) => m.id)).toEqual([mail!.id]);
  });

  it('keeps mail readable by its owner only: the folder 0700, every message file 0600', async () => {
    const c = await start();
    await send(c, { subject: 'one', text: 'private' });
    await send(c, { subject: 'two', text: 'private too' });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    for (const file of files) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
  });

  it('lists messages newest first on the page and in the API, and in arrival order from messages()', async () => {
    const c = await start();
    for (const subject of ['first', 'second', 'third']) await send(c, { subject, text: subject });

    expect((await listed(c)).map((m) => m.subject)).toEqual(['third', 'second', 'first']);
    expect(c.messages().map((m) => m.subject)).toEqual(['first', 'second', 'third']);
    const html = await (await fetch(c.webUrl)).text();
    expect(html.indexOf('third')).toBeLessThan(html.indexOf('first'));
  });

  it('shows the list page with the subject escaped, a link to each message and a strict CSP', async () => {
    const c = await start();
    await send(c, { subject: EVIL_SUBJECT, text: 'hi' });
    const [mail] = await listed(c);

    const res = await fetch(c.webUrl);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; your cart');
    expect(html).not.toContain('<script');
    expect(html).toContain(`href="/messages/${mail!.id}"`);
    expect(html).toContain('ada@example.com');
  });

  it('says where to send mail when the inbox is empty', async () => {
    const c = await start();
    const html = await (await fetch(c.webUrl)).text();
    expect(html).toContain('No mail yet');
    expect(html).toContain(c.smtpUrl);
  });

  it('shows one message with its headers, the text part in <pre> and the HTML part in a sandboxed srcdoc frame', async () => {
    const c = await start();
    await send(c, {
      subject: EVIL_SUBJECT,
      text: 'Total: <b>5</b> & more',
      html: '<p onclick="steal()">Hi "Ada"</p><script>steal()</script><a href="https://shop.example.com/cart?a=1&amp;b=2">cart</a><a href="javascript:steal()">x</a>',
      headers: { 'List-Unsubscribe': '<https://shop.example.com/u/ada>' },
    });
    const [mail] = await listed(c);

    const res = await fetch(new URL(`/messages/${mail!.id}`, c.webUrl));
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<pre>Total: &lt;b&gt;5&lt;/b&gt; &amp; more</pre>');
    expect(html).toContain(
      '<iframe class="html" sandbox srcdoc="&lt;p onclick=&quot;steal()&quot;&gt;Hi &quot;Ada&quot;&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;',
    );
    expect(html).toMatch(/<th>list-unsubscribe<\/th><td>&lt;https:\/\/shop\.example\.com\/u\/ada&gt;<\/td>/);
    expect(html).toContain('<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; your cart</h1>');
    // Links are listed outside the sandbox, entity-decoded, and never with a script scheme.
    expect(html).toContain('href="https://shop.example.com/cart?a=1&amp;b=2"');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain(`href="/messages/${mail!.id}.eml"`);
  });

  it('downloads the raw message as .eml, with the SMTP envelope recorded as trace headers', async () => {
    const c = await start();
    await send(c, { subject: 'raw', text: 'raw body', messageId: '<raw-1@unbroken.test>' });
    const [mail] = await listed(c);

    const res = await fetch(new URL(`/messages/${mail!.id}.eml`, c.webUrl));
    const raw = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('message/rfc822');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${mail!.id}.eml"`);
    expect(raw).toMatch(/^Return-Path: <shop@example\.com>\r\nEnvelope-To: ada@example\.com\r\n/);
    expect(raw).toContain('Message-ID: <raw-1@unbroken.test>');
    expect(raw).toContain('raw body');
    expect(raw).toBe(readFileSync(join(dir, `${mail!.id}.eml`), 'utf8'));
  });

  it('still lists earlier mail after a restart on the same folder', async () => {
    let c = await start();
    await send(c, { subject: 'before restart', text: 'kept', headers: { 'List-Unsubscribe': '<mailto:u@example.com>' } });
    const [before] = await listed(c);
    await c.stop();

    c = await start();
    await send(c, { subject: 'after restart', text: 'new' });
    const mails = await listed(c);
    expect(mails.map((m) => m.subject)).toEqual(['after restart', 'before restart']);
    expect(mails[1]).toEqual(before);
    expect(mails[0]!.id > mails[1]!.id).toBe(true);
  });

  it('clears every message, files included, on DELETE /api/messages', async () => {
    const c = await start();
    await send(c, { subject: 'one', text: '1' });
    await send(c, { subject: 'two', text: '2' });

    const res = await fetch(new URL('/api/messages', c.webUrl), { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 2 });
    expect(await listed(c)).toEqual([]);
    expect(c.messages()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers unknown routes and message ids with 404 JSON and wrong methods with 405', async () => {
    const c = await start();
    for (const path of ['/nope', '/messages/20250101T000000000Z-deadbeef', '/messages/../../etc/passwd', '/api/messages/x']) {
      const res = await fetch(new URL(path, c.webUrl));
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toMatchObject({ code: 'not_found' });
    }
    const post = await fetch(new URL('/api/messages', c.webUrl), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, DELETE');
  });

  it('serves one message as JSON at /api/messages/:id', async () => {
    const c = await start();
    await send(c, { subject: 'json', text: 'j' });
    const [mail] = await listed(c);
    const res = await fetch(new URL(`/api/messages/${mail!.id}`, c.webUrl));
    expect(await res.json()).toEqual(mail);
  });

  it('refuses requests addressed to a foreign host name, which is how DNS rebinding shows', async () => {
    const c = await start();
    const status = await new Promise<number>((resolve, reject) => {
      request(c.webUrl, { headers: { host: `evil.example.com:${c.httpPort}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
    expect((await fetch(`http://localhost:${c.httpPort}/api/messages`)).status).toBe(200);
  });

  it('waitFor resolves with a message that arrives later and rejects when none matches in time', async () => {
    const c = await start();
    const waiting = c.waitFor((m) => m.subject === 'later', 5_000);
    await send(c, { subject: 'other', text: 'o' });
    await send(c, { subject: 'later', text: 'l' });
    expect((await waiting).subject).toBe('later');
    // Already stored: resolves at once.
    expect((await c.waitFor((m) => m.subject === 'other', 10)).subject).toBe('other');
    await expect(c.waitFor((m) => m.subject === 'never', 50)).rejects.toThrow(/no matching message within 50 ms \(2 caught so far/);
  });

  it('accepts AUTH with any credentials, as a stand-in for a relay', async () => {
    const c = await start();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: c.smtpPort,
      auth: { user: 'anyone', pass: 'anything' },
      // AUTH PLAIN over plain text is what a local catcher gets; nodemailer refuses it unless told.
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'authed', text: 'x' });
    expect(c.messages().map((m) => m.subject)).toEqual(['authed']);
  });

  it('refuses a message over the size limit with 552 and stores nothing', async () => {
    const c = await start({ maxMessageBytes: 2_000 });
    await expect(send(c, { subject: 'big', text: 'x'.repeat(10_000) })).rejects.toMatchObject({ responseCode: 552 });
    expect(c.messages()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says which port is taken and how to fix it when it cannot listen', async () => {
    const c = await start();
    const err = await startMailCatcher({ dir, smtpPort: 0, httpPort: c.httpPort }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailCatcherStartError);
    expect(err).toMatchObject({ service: 'http', port: c.httpPort, code: 'EADDRINUSE' });
    expect((err as Error).message).toMatch(/port \d+ is already in use.*choose another port \(UNBROKEN_EMBEDDED_MAIL_WEB_PORT\)/);
  });
});
