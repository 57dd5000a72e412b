/** `unbroken preview`: a template rendered as a send would render it, through the real command and the send stages. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileDefinitions } from '../../compiler/index';
import { activityCatalog } from '../../activities/index';
import { smsSegments } from '../../compiler/sms';
import { verifyUnsubscribeToken } from '../../delivery/tokens';
import { preview, PreviewFailure, type PreviewResult } from '../../cli/preview';

const root = path.resolve(__dirname, '..', '..');
const FIXTURES = 'test/fixtures/preview';
const PUBLIC_URL = 'https://mail.example.com';
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-preview-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function profileFile(profile: Record<string, unknown>): string {
  const file = path.join(tmp, `profile-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}

function unbroken(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, UNBROKEN_PUBLIC_URL: PUBLIC_URL, MAIL_FROM: 'Shop <shop@example.com>' };
  return spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'preview', ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
}

function templateOf(dir: string, id: string) {
  const template = compileDefinitions(path.join(root, dir), { ...activityCatalog, cwd: root }).templates.get(id);
  if (!template) throw new Error(`no template ${id} in ${dir}`);
  return template;
}

const ann = { id: 'u1', email: 'ann@example.com', phone: '+49 151 1234 5678', first_name: 'Ann', loyalty: { points: 120 }, subscriptions: { sms: { marketing: true } } };
const cart = JSON.stringify({ trigger: { properties: { total: 80, items: [{ name: 'Shoes' }], order_id: 'A-17' } }, data: { code: 'VIP', discount: '15%' } });

describe('unbroken preview of an email', () => {
  it('prints the subject, the text and the one-click unsubscribe headers of an example template', () => {
    const r = unbroken('cart-reminder', '--profile', profileFile(ann), '--data', cart);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Subject: Ann, you left something in your cart');
    expect(r.stdout).toContain('To: ann@example.com');
    expect(r.stdout).toContain('From: Shop <shop@example.com>');
    expect(r.stdout).toContain('Your cart is saved: Shoes\n(80 EUR).');
    expect(r.stdout).toMatch(new RegExp(`^List-Unsubscribe: <${PUBLIC_URL}/unsubscribe/sample-[\\w.-]+>$`, 'm'));
    expect(r.stdout).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  });

  it('writes the HTML part to --out, escaped as a send escapes it, with the same link in the body as in the header', () => {
    const out = path.join(tmp, 'vip.html');
    const evil = profileFile({ ...ann, first_name: '<script>alert(1)</script>' });
    const r = unbroken('vip-offer', '--definitions', FIXTURES, '--profile', evil, '--data', cart, '--out', out, '--json');
    expect(r.status).toBe(0);
    const shown = JSON.parse(r.stdout) as Extract<PreviewResult, { channel: 'email' }>;
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toBe(shown.html);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    // Text is not HTML: the name stays as written.
    expect(shown.text).toContain('Hi <script>alert(1)</script>,');
    expect(html).toContain('Use code <b>VIP</b> for 15% off.');
    const link = /<(.+)>/.exec(shown.headers['List-Unsubscribe'])?.[1];
    expect(link).toBeDefined();
    expect(html).toContain(`href="${link}"`);
    expect(shown.text).toContain(`Unsubscribe: ${link}`);
  });

  it('marks the unsubscribe token as a sample that no server verifies', async () => {
    const shown = await preview({ template: templateOf(FIXTURES, 'vip-offer'), definitionsDir: FIXTURES, profile: { ...ann, tags: [] }, context: JSON.parse(cart), publicUrl: PUBLIC_URL, mailFrom: 'shop@example.com', unsubscribeTtlMs: 86_400_000 });
    if (shown.channel !== 'email') throw new Error('not an email');
    const token = /\/unsubscribe\/(sample-[^>]+)>/.exec(shown.headers['List-Unsubscribe'])?.[1] ?? '';
    expect(token.startsWith('sample-')).toBe(true);
    expect(verifyUnsubscribeToken(token, 'x'.repeat(64), new Date()).ok).toBe(false);
    expect(verifyUnsubscribeToken(token.slice('sample-'.length), 'x'.repeat(64), new Date()).ok).toBe(false);
  });

  it('without --out says how big the HTML part is and how to write it', () => {
    const r = unbroken('welcome', '--profile', profileFile(ann));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Subject: .+$/m);
    expect(r.stdout).toMatch(/^HTML part: \d+ bytes \(write it with --out FILE\)$/m);
  });

  it('refuses --out for a template without an HTML part', () => {
    const r = unbroken('text-reminder', '--definitions', FIXTURES, '--profile', profileFile(ann), '--data', cart, '--out', path.join(tmp, 'none.html'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--out writes the HTML part of an email, and text-reminder has none');
    expect(fs.existsSync(path.join(tmp, 'none.html'))).toBe(false);
  });
});

describe('unbroken preview of an SMS', () => {
  it('prints the body with the sample short unsubscribe link and the segments the SMS channel counts', () => {
    const r = unbroken('text-reminder', '--definitions', FIXTURES, '--profile', profileFile(ann), '--data', cart);
    expect(r.status).toBe(0);
    const body = `Hi Ann, your cart (80 EUR) is waiting. Stop: ${PUBLIC_URL}/u/sample0000`;
    expect(r.stdout).toContain(`To: +4915112345678\n`);
    expect(r.stdout).toContain(`${[...body].length} characters, GSM-7, 1 segment\n\n${body}`);
  });

  it('counts an emoji in a trait as UCS-2, as the channel would bill it', async () => {
    const shown = await preview({
      template: templateOf(FIXTURES, 'text-reminder'),
      definitionsDir: FIXTURES,
      profile: { ...ann, first_name: 'Ann 🎉', tags: [] },
      context: { trigger: { properties: { total: 80 } } },
      publicUrl: PUBLIC_URL,
      mailFrom: 'shop@example.com',
      unsubscribeTtlMs: 86_400_000,
    });
    if (shown.channel !== 'sms') throw new Error('not an sms');
    expect(shown.encoding).toBe('UCS-2');
    expect(shown.segments).toBe(smsSegments(shown.body).segments);
    expect(shown.segments).toBe(2);
  });
});

describe('unbroken preview of another channel of a template', () => {
  it('renders the sms: section with --channel sms, as a send with channels: [sms, email] would', () => {
    const r = unbroken('onboarding-nudge', '--profile', profileFile(ann), '--channel', 'sms');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('template: onboarding-nudge (sms, marketing)\nTo: +4915112345678\n');
    expect(r.stdout).toMatch(/^\d+ characters, GSM-7, 1 segment\n\nAnn, one step left/m);
  });

  it('names the line inside the section when a variable there is missing', () => {
    const r = unbroken('setup-nudge', '--definitions', FIXTURES, '--profile', profileFile(ann), '--channel', 'sms');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^test\/fixtures\/preview\/templates\/setup-nudge\.yaml:9: missing variable "profile\.city" in body of template setup-nudge/);
    const email = unbroken('setup-nudge', '--definitions', FIXTURES, '--profile', profileFile(ann));
    expect(email.status).toBe(0);
  });

  it('refuses a channel the template has no content for, naming the ones it has', () => {
    const r = unbroken('onboarding-nudge', '--profile', profileFile(ann), '--channel', 'webhook');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--channel webhook: template onboarding-nudge has content for email, sms only');
    expect(unbroken('onboarding-nudge', '--profile', profileFile(ann), '--channel', 'fax').status).toBe(2);
  });
});

describe('unbroken preview of a webhook', () => {
  it('prints the URL with its values encoded and the JSON body', () => {
    const data = JSON.stringify({ trigger: { properties: { order_id: 'A 17/x' } } });
    const r = unbroken('order-shipped-hook', '--definitions', FIXTURES, '--profile', profileFile(ann), '--data', data, '--json');
    expect(r.status).toBe(0);
    const shown = JSON.parse(r.stdout) as Extract<PreviewResult, { channel: 'webhook' }>;
    expect(shown.url).toBe('https://erp.example.com/orders/A%2017%2Fx/shipped');
    expect(shown.body).toEqual({ order: 'A 17/x', customer: 'u1', name: 'Ann' });
  });
});

describe('unbroken preview when the message cannot be made', () => {
  it('fails like the send, naming the template file and the line of a missing trigger property', () => {
    const r = unbroken('cart-reminder', '--profile', profileFile(ann));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^definitions\/templates\/cart-reminder\.yaml:11: missing variable "trigger\.properties\.total" in text of template cart-reminder/);
  });

  it('names the line of a missing trait inside the HTML part', () => {
    const { loyalty: _, ...noPoints } = ann;
    const r = unbroken('vip-offer', '--definitions', FIXTURES, '--profile', profileFile(noPoints), '--data', cart);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^test\/fixtures\/preview\/templates\/vip-offer\.yaml:13: missing variable "profile\.loyalty" in html of template vip-offer/);
  });

  it('names the subject line when the send step data lacks a value', async () => {
    const run = preview({ template: templateOf(FIXTURES, 'vip-offer'), definitionsDir: FIXTURES, profile: { ...ann, tags: [] }, publicUrl: PUBLIC_URL, mailFrom: 'shop@example.com', unsubscribeTtlMs: 86_400_000 });
    await expect(run).rejects.toThrow(PreviewFailure);
    await expect(run).rejects.toMatchObject({ where: `${FIXTURES}/templates/vip-offer.yaml:4`, message: expect.stringContaining('missing variable "data.discount" in subject') });
  });

  it('says the send would be skipped when the profile has no address for the channel', () => {
    const r = unbroken('text-reminder', '--definitions', FIXTURES, '--profile', profileFile({ id: 'u2', email: 'bo@example.com' }), '--data', cart);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('would be skipped (no_address)');
  });

  it('says the send would be skipped, and how to state consent, when the customer never agreed to marketing by SMS', () => {
    const { subscriptions: _, ...silent } = ann;
    const r = unbroken('text-reminder', '--definitions', FIXTURES, '--profile', profileFile(silent), '--data', cart);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('would be skipped (unsubscribed)');
    expect(r.stderr).toContain('add "subscriptions": {"sms": {"marketing": true}} to the profile');
  });

  it('refuses --data that is not JSON or has an unknown key, naming it, with exit code 2', () => {
    const bad = unbroken('welcome', '--profile', profileFile(ann), '--data', '{"trigger":');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--data is not valid JSON');
    const unknown = unbroken('welcome', '--profile', profileFile(ann), '--data', '{"trigger":{"propertes":{}}}');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--data.trigger.propertes: unknown key');
  });

  it('names the known templates for an unknown id', () => {
    const r = unbroken('cart-remnder', '--profile', profileFile(ann));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no template "cart-remnder" in definitions\/templates \(known: .*cart-reminder/);
  });
});
