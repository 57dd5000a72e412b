/**
 * The delivery settings of worker/config.ts: frequency caps, unsubscribe links, quiet hours and
 * the SMS provider. (Kept beside the delivery tests: they build the policy `sendMessage` obeys.)
 */
import { DEFAULT_FREQUENCY_CAPS, loadConfig, parseConsentDefaults, parseFrequencyCaps, parseQuietHours } from '../../worker/config';
import { configProblems as problems } from '../support/config';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('delivery configuration', () => {
  it('defaults to 2 marketing emails a day and 5 a week, links on 127.0.0.1, a 60-day TTL and the log SMS provider', () => {
    const config = loadConfig({ PORT: '4000' });
    expect(config.frequencyCaps).toEqual([
      { channel: 'email', category: 'marketing', max: 2, windowMs: DAY },
      { channel: 'email', category: 'marketing', max: 5, windowMs: 7 * DAY },
    ]);
    expect(parseFrequencyCaps(DEFAULT_FREQUENCY_CAPS).caps).toEqual(config.frequencyCaps);
    expect(config.publicUrl).toBe('http://127.0.0.1:4000');
    expect(config.unsubscribeSecret).toBeUndefined();
    expect(config.unsubscribeTtlMs).toBe(60 * DAY);
    expect(config.quietHours).toBeUndefined();
    expect(config.sms).toEqual({ provider: 'log' });
  });

  it('reads every delivery key', () => {
    const config = loadConfig({
      UNBROKEN_FREQUENCY_CAPS: ' sms:marketing:1/12h , email:newsletter:3/1d12h,',
      UNBROKEN_PUBLIC_URL: 'https://mail.example.com/',
      UNBROKEN_UNSUBSCRIBE_SECRET: 'x'.repeat(32),
      UNBROKEN_UNSUBSCRIBE_TTL: '30d',
      UNBROKEN_QUIET_HOURS: '21:30-08:00',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC123',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: '+15550001111',
    });
    expect(config.frequencyCaps).toEqual([
      { channel: 'sms', category: 'marketing', max: 1, windowMs: 12 * HOUR },
      { channel: 'email', category: 'newsletter', max: 3, windowMs: 36 * HOUR },
    ]);
    expect(config.publicUrl).toBe('https://mail.example.com');
    expect(config.unsubscribeSecret).toBe('x'.repeat(32));
    expect(config.unsubscribeTtlMs).toBe(30 * DAY);
    expect(config.quietHours).toEqual({ startMinute: 21 * 60 + 30, endMinute: 8 * 60 });
    expect(config.sms).toEqual({
      provider: 'twilio',
      accountSid: 'AC123',
      authToken: 'token',
      from: '+15550001111',
      baseUrl: 'https://api.twilio.com',
    });
  });

  it('turns global caps off with none', () => {
    expect(loadConfig({ UNBROKEN_FREQUENCY_CAPS: 'none' }).frequencyCaps).toEqual([]);
  });

  it('names every bad cap entry and the format, together with other problems', () => {
    const found = problems({ UNBROKEN_FREQUENCY_CAPS: 'email:marketing:2/day,fax:a:1/1h,sms:x:0/1h,email:m:3', UNBROKEN_UNSUBSCRIBE_TTL: '60' });
    expect(found).toHaveLength(5);
    expect(found[0]).toMatch(/^UNBROKEN_UNSUBSCRIBE_TTL: 60 is a bare number/);
    expect(found.slice(1).map((p) => /entry "([^"]*)"/.exec(p)?.[1])).toEqual(['email:marketing:2/day', 'fax:a:1/1h', 'sms:x:0/1h', 'email:m:3']);
    for (const problem of found.slice(1)) expect(problem).toContain('the format is channel:category:max/duration');
    expect(problems({ UNBROKEN_FREQUENCY_CAPS: ' , ' })).toEqual([expect.stringMatching(/no cap given/)]);
  });

  it('refuses a short secret without echoing it, and bad quiet hours, URLs and SMS providers', () => {
    const found = problems({
      UNBROKEN_UNSUBSCRIBE_SECRET: 'hunter2',
      UNBROKEN_QUIET_HOURS: '21:00-21:00',
      UNBROKEN_PUBLIC_URL: 'ftp://example.com',
      SMS_PROVIDER: 'carrier-pigeon',
    });
    expect(found.join('\n')).not.toContain('hunter2');
    expect(found).toEqual([
      expect.stringMatching(/^UNBROKEN_PUBLIC_URL: must be the http:\/\/ or https:\/\//),
      'UNBROKEN_UNSUBSCRIBE_SECRET: must be at least 32 characters, e.g. from `openssl rand -hex 32` (got 7 characters)',
      expect.stringMatching(/^UNBROKEN_QUIET_HOURS: must be a local time window HH:MM-HH:MM/),
      expect.stringMatching(/^SMS_PROVIDER: must be log .* or twilio/),
    ]);
  });

  it('needs the Twilio settings together, and only with SMS_PROVIDER=twilio', () => {
    expect(problems({ SMS_PROVIDER: 'twilio', TWILIO_FROM: '+1555' })).toEqual([
      'TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: required when SMS_PROVIDER=twilio (set all of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)',
    ]);
    expect(problems({ TWILIO_ACCOUNT_SID: 'AC1' })).toEqual(['TWILIO_ACCOUNT_SID: set SMS_PROVIDER=twilio to send through Twilio, or remove them']);
  });

  it('parses quiet hours that wrap past midnight or stay within a day', () => {
    expect(parseQuietHours('22:00-06:30')).toEqual({ startMinute: 1320, endMinute: 390 });
    expect(parseQuietHours('9:00 - 17:00')).toEqual({ startMinute: 540, endMinute: 1020 });
    for (const bad of ['24:00-08:00', '21:60-08:00', '9pm-8am', '21:00', '08:00-08:00']) expect(parseQuietHours(bad)).toBeUndefined();
  });
});

describe('consent defaults', () => {
  it('keeps email and webhooks opt-out and makes sms opt-in when unset', () => {
    expect(loadConfig({}).consentModes).toEqual({ email: 'opt-out', sms: 'opt-in', webhook: 'opt-out' });
  });

  it('changes the channels it names and keeps the others', () => {
    expect(loadConfig({ UNBROKEN_CONSENT_DEFAULTS: ' sms:opt-out , email:opt-in' }).consentModes).toEqual({ email: 'opt-in', sms: 'opt-out', webhook: 'opt-out' });
  });

  it('reports every bad entry by itself', () => {
    expect(parseConsentDefaults('sms:optin,fax:opt-in,email,sms:opt-out,sms:opt-in').problems).toEqual([
      'UNBROKEN_CONSENT_DEFAULTS: entry "sms:optin" has the mode "optin", which is neither opt-out nor opt-in; the format is channel:mode, comma-separated, with a channel of email, sms, webhook and a mode of opt-out or opt-in, e.g. sms:opt-in',
      'UNBROKEN_CONSENT_DEFAULTS: entry "fax:opt-in" names the channel "fax", which is none of email, sms, webhook; the format is channel:mode, comma-separated, with a channel of email, sms, webhook and a mode of opt-out or opt-in, e.g. sms:opt-in',
      'UNBROKEN_CONSENT_DEFAULTS: entry "email" is not channel:mode; the format is channel:mode, comma-separated, with a channel of email, sms, webhook and a mode of opt-out or opt-in, e.g. sms:opt-in',
      'UNBROKEN_CONSENT_DEFAULTS: entry "sms:opt-in" names sms a second time; the format is channel:mode, comma-separated, with a channel of email, sms, webhook and a mode of opt-out or opt-in, e.g. sms:opt-in',
    ]);
    expect(problems({ UNBROKEN_CONSENT_DEFAULTS: 'sms:maybe' })).toHaveLength(1);
  });
});
