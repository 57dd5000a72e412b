import { captureMailer, smtpMailer } from '../../activities/mailer';
import { createSendMessage } from '../../activities/send-message';
import type { ActivityDeps, DeliveryPolicy, SmsProvider } from '../../activities/types';
import type { TemplatePlan } from '../../compiler/plan';
import { scaleScores, SURVEY_SCALES, type SurveyScale } from '../../core/surveys';
import { shortUnsubscribeLinks } from '../../delivery/short-links';
import { surveyLinkBuilder, verifySurveyToken } from '../../delivery/survey-tokens';
import { unsubscribePolicyUrl } from '../../delivery/tokens';
import { sendTemplates } from '../../workflows/pure/channels';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { journeyContext, sendInput, tempStore } from './helpers';

const SECRET = 'survey-render-test-secret-0123456789abcdef';
const PUBLIC_URL = 'https://mail.example.com/cx';
/** Half an hour after the sends (the helpers' journey time), when a customer clicks: links count their lifetime from the send. */
const NOW = new Date('2024-05-01T11:30:00.000Z');

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let smtp: TestSmtpServer | undefined;

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
});

afterEach(async () => {
  await smtp?.stop();
  smtp = undefined;
  await cleanup();
});

function delivery(withSurveyLinks = true): DeliveryPolicy {
  return {
    caps: [],
    // SMS consent is opt-in by default; these customers said nothing, and the cases are about rendering.
    consentModes: { sms: 'opt-out' },
    unsubscribeUrl: unsubscribePolicyUrl(PUBLIC_URL, SECRET, 60_000),
    shortUnsubscribe: shortUnsubscribeLinks(PUBLIC_URL, 60_000),
    ...(withSurveyLinks ? { surveyLink: surveyLinkBuilder(PUBLIC_URL, SECRET, 30 * 86_400_000) } : {}),
  };
}

function survey(scale: SurveyScale, overrides: Partial<TemplatePlan> = {}): TemplatePlan {
  return {
    id: `ask-${scale}`,
    channel: 'email',
    category: 'marketing',
    subject: 'How did we do?',
    survey: { id: `delivery-${scale}`, scale, question: 'How likely are you to recommend us to {{ profile.first_name }}?' },
    file: `templates/ask-${scale}.yaml`,
    ...overrides,
  };
}

/** Sends `template` to a customer of its own (so no survey fatigue rule links the cases). */
async function send(template: TemplatePlan, deps: Partial<ActivityDeps> = {}, customerId = `cust-${template.id}`) {
  await store.identify(customerId, { email: `${customerId}@example.com`, phone: '+4915112345678', first_name: 'Ada <Lovelace> & "Co"' });
  const context = journeyContext({ customerId, workflowId: `journey:nps:${customerId}`, journeyId: 'nps' });
  const mailer = captureMailer();
  const sendMessage = createSendMessage({ store, mailer, mailFrom: 'Shop <shop@example.com>', delivery: delivery(), ...deps });
  const result = await sendMessage(sendInput(template, 'ask', { context, idempotencyKey: `${context.workflowId}/v1/ask` }));
  return { result, mail: mailer.sent[0], customerId };
}

/** Every link in an HTML part, in order, decoded from its attribute. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
}

/** The token of a survey link and its `score`, checked against what it must be bound to. */
function claimsOf(link: string) {
  const url = new URL(link);
  const match = /^\/cx\/s\/([^/]+)$/.exec(url.pathname);
  expect(match).not.toBeNull();
  return { result: verifySurveyToken(match![1], SECRET, NOW), score: url.searchParams.get('score') };
}

describe('a survey email over real SMTP', () => {
  it('puts the buttons and the text links where the template says, each link answering its own score for this customer, run and step', async () => {
    smtp = await startSmtpServer();
    const template = survey('nps', {
      text: 'Hi,\n\n{{ survey_links }}\n\nThank you!',
      html: '<p>Hi,</p>{{ survey_buttons }}<p>Thank you!</p>',
    });
    const { result, customerId } = await send(template, { mailer: smtpMailer(smtp.url) });
    expect(result.status).toBe('sent');
    const [mail] = await smtp.waitFor(1);

    const html = mail!.html as string;
    expect(html.startsWith('<p>Hi,</p><table role="presentation"')).toBe(true);
    expect(html.endsWith('</table><p>Thank you!</p>')).toBe(true);
    const links = hrefs(html);
    expect(links).toHaveLength(11);
    links.forEach((link, score) => {
      const { result: claims, score: given } = claimsOf(link);
      expect(given).toBe(String(score));
      expect(claims).toMatchObject({
        ok: true,
        customerId,
        journeyId: 'nps',
        workflowId: `journey:nps:${customerId}`,
        stepId: 'ask',
        surveyId: 'delivery-nps',
        scale: 'nps',
      });
    });
    // Button labels, and the two ends of the scale in words.
    expect([...html.matchAll(/>(\d+)<\/a>/g)].map((m) => m[1])).toEqual(scaleScores('nps').map(String));
    expect(html).toContain('>Not at all likely</td>');
    expect(html).toContain('>Extremely likely</td>');

    const text = (mail!.text as string).replace(/\r\n/g, '\n');
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual(['Hi,', '', 'How likely are you to recommend us to Ada <Lovelace> & "Co"?', '']);
    expect(lines[4]).toBe(`0 (Not at all likely): ${links[0]}`);
    expect(lines[9]).toBe(`5: ${links[5]}`);
    expect(lines[14]).toBe(`10 (Extremely likely): ${links[10]}`);
    expect(lines.slice(15).join('\n').trim()).toBe('Thank you!');
  });
});

describe('survey rendering', () => {
  it.each(SURVEY_SCALES)('gives %s one button and one text link per score, in order', async (scale) => {
    const { mail } = await send(survey(scale, { text: 'Hi', html: '<p>Hi</p>' }));
    const links = hrefs(mail!.html as string);
    expect(links.map((link) => claimsOf(link).score)).toEqual(scaleScores(scale).map(String));
    for (const link of links) expect(claimsOf(link).result).toMatchObject({ ok: true, scale, surveyId: `delivery-${scale}` });
    const textLinks = (mail!.text as string).split('\n').filter((line) => line.includes('/s/'));
    expect(textLinks.map((line) => new URL(line.slice(line.indexOf('https://'))).searchParams.get('score'))).toEqual(scaleScores(scale).map(String));
  });

  it('labels thumbs with their words, and leaves out the ends row', async () => {
    const { mail } = await send(survey('thumbs', { html: '<p>Hi</p>' }));
    const html = mail!.html as string;
    expect([...html.matchAll(/">([^<]*)<\/a>/g)].map((m) => m[1])).toEqual(['\u{1F44E} No', '\u{1F44D} Yes']);
    expect(html).not.toContain('text-align:right');
  });

  it('appends the survey after the body when the template does not place it, before </body> in a full document', async () => {
    const { mail } = await send(
      survey('csat', { text: 'Thanks for your order.', html: '<html><body><p>Thanks for your order.</p></body></html>' }),
    );
    const html = mail!.html as string;
    expect(html).toMatch(/^<html><body><p>Thanks for your order.<\/p><table role="presentation"[\s\S]*<\/table>\n<\/body><\/html>$/);
    const text = mail!.text as string;
    expect(text.startsWith('Thanks for your order.\n\nHow likely are you to recommend us to Ada <Lovelace> & "Co"?\n\n1 (Very dissatisfied): https://')).toBe(true);
  });

  it('makes both parts from the survey alone when the template has no text or html', async () => {
    const { result, mail } = await send(survey('ces'));
    expect(result.status).toBe('sent');
    expect(hrefs(mail!.html as string)).toHaveLength(7);
    expect((mail!.text as string).split('\n').filter((line) => line.includes('?score='))).toHaveLength(7);
  });

  it('HTML-escapes the question (and the profile values in it) in the buttons, and leaves the text part plain', async () => {
    const { mail } = await send(survey('nps', { html: '<p>Hi</p>', text: 'Hi' }));
    const html = mail!.html as string;
    expect(html).toContain('How likely are you to recommend us to Ada &lt;Lovelace&gt; &amp; &#34;Co&#34;?');
    expect(html).not.toContain('<Lovelace>');
    expect(mail!.text).toContain('recommend us to Ada <Lovelace> & "Co"?');
  });

  it('puts {{ survey_url }} (the answer page, no score) where the template says', async () => {
    const { mail } = await send(survey('nps', { text: 'Answer here: {{ survey_url }}' }));
    const line = (mail!.text as string).split('\n')[0];
    const { result, score } = claimsOf(line.replace('Answer here: ', ''));
    expect(result.ok).toBe(true);
    expect(score).toBeNull();
  });

  it('sends an sms survey as the question and the answer page link', async () => {
    const sent: { body: string }[] = [];
    const sms: SmsProvider = { name: 'capture', send: async (message) => (sent.push(message), { providerId: 'p1' }) };
    const { result } = await send(survey('nps', { channel: 'sms', subject: undefined }), { sms });
    expect(result.status).toBe('sent');
    const [question, link, ...rest] = sent[0].body.split(' to Ada <Lovelace> & "Co"? ');
    expect(question).toBe('How likely are you to recommend us');
    expect(rest).toEqual([]);
    expect(claimsOf(link)).toMatchObject({ result: { ok: true, scale: 'nps' }, score: null });

    const placed: { body: string }[] = [];
    const sms2: SmsProvider = { name: 'capture', send: async (message) => (placed.push(message), { providerId: 'p2' }) };
    const second = await send(survey('csat', { channel: 'sms', subject: undefined, body: 'Rate your delivery: {{ survey_url }} Thanks!' }), { sms: sms2 });
    expect(second.result).toMatchObject({ status: 'sent' });
    expect(placed[0].body).toMatch(/^Rate your delivery: https:\/\/mail\.example\.com\/cx\/s\/[A-Za-z0-9_.-]+ Thanks!$/);
  });

  it('carries the survey into a channel section: sms first, the email as the fallback for a customer without a phone', async () => {
    const template = survey('nps', { html: '<p>Hi</p>', alternatives: { sms: { body: 'Quick question:' } } });
    const [sms, email] = sendTemplates(template, ['sms', 'email'], 'marketing');
    const sent: { body: string }[] = [];
    const provider: SmsProvider = { name: 'capture', send: async (message) => (sent.push(message), { providerId: 'p3' }) };
    const bySms = await send(sms, { sms: provider }, 'with-phone');
    expect(bySms.result).toMatchObject({ status: 'sent', channel: 'sms' });
    expect(sent[0].body).toMatch(/^Quick question:\nHow likely are you to recommend us to Ada <Lovelace> & "Co"\? https:\/\/mail\.example\.com\/cx\/s\/\S+$/);

    await store.identify('no-phone', { email: 'no-phone@example.com', first_name: 'Grace' });
    const context = journeyContext({ customerId: 'no-phone', workflowId: 'journey:nps:no-phone', journeyId: 'nps' });
    const mailer = captureMailer();
    const sendMessage = createSendMessage({ store, mailer, mailFrom: 'Shop <shop@example.com>', delivery: delivery(), sms: provider });
    const result = await sendMessage(sendInput(sms, 'ask', { context, idempotencyKey: 'journey:nps:no-phone/v1/ask', fallbacks: [email] }));
    expect(result).toMatchObject({ status: 'sent', channel: 'email' });
    expect(hrefs(mailer.sent[0].html as string)).toHaveLength(11);
  });

  it('skips a survey as a template error when the worker cannot sign survey links', async () => {
    const { result } = await send(survey('nps', { text: 'Hi' }), { delivery: delivery(false) });
    expect(result).toMatchObject({ status: 'skipped', reason: 'template_error' });
    expect(result.status === 'skipped' && result.error).toMatch(/asks survey delivery-nps, but this worker cannot sign survey links/);
  });
});
