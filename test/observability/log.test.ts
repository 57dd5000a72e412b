import { createLogger, installLogger } from '../../observability/log';
import { isSecretKey, redact, REDACTED, redactText } from '../../observability/redact';
import { temporalLogger } from '../../worker/logging';
import { captureLog } from './log-capture';

describe('redact', () => {
  test('replaces secrets and message bodies at any depth and keeps everything else', () => {
    const input = {
      headers: { Authorization: 'Basic d2tfMTIzOg==', cookie: 'session=1', 'x-api-key': 'k1', 'content-type': 'application/json' },
      config: { writeKey: 'wk_live_abcdef', UNBROKEN_UNSUBSCRIBE_SECRET: 's'.repeat(40), smtp: { auth: { user: 'mailer', pass: 'hunter2' } } },
      message: { to: 'ann@example.com', subject: 'Hello', html: '<p>Hi Ann</p>', text: 'Hi Ann', body: 'Hi' },
      sends: [{ token: 'tok', authToken: 'twilio', channel: 'sms' }],
      params: { credential: 'eyJjIjoiMSJ9.sig' },
      absent: { password: undefined },
    };
    expect(redact(input)).toEqual({
      headers: { Authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, 'content-type': 'application/json' },
      config: { writeKey: REDACTED, UNBROKEN_UNSUBSCRIBE_SECRET: REDACTED, smtp: { auth: { user: 'mailer', pass: REDACTED } } },
      message: { to: 'ann@example.com', subject: 'Hello', html: REDACTED, text: REDACTED, body: REDACTED },
      sends: [{ token: REDACTED, authToken: REDACTED, channel: 'sms' }],
      params: { credential: REDACTED },
      absent: { password: undefined },
    });
    expect(input.headers.Authorization).toBe('Basic d2tfMTIzOg==');
  });

  test('hides credentials inside text: URLs, unsubscribe links, query parameters, auth schemes', () => {
    expect(redactText('connect postgres://app:s3cret@db:5432/unbroken failed')).toBe('connect postgres://app:***@db:5432/unbroken failed');
    expect(redactText('smtps://apikey@smtp.example.com:465')).toBe('smtps://***@smtp.example.com:465');
    expect(redactText('GET https://mail.example.com/unsubscribe/eyJjIjoiMSJ9.c2ln?x=1')).toBe('GET https://mail.example.com/unsubscribe/:token?x=1');
    expect(redactText('POST /u/Ab3dE5gH9k')).toBe('POST /u/:code');
    expect(redactText('/hook?token=abc&page=2')).toBe(`/hook?token=${REDACTED}&page=2`);
    expect(redactText('got api_key=xyz from env')).toBe(`got api_key=${REDACTED} from env`);
    expect(redactText('header Bearer abc.def-ghi was refused')).toBe(`header Bearer ${REDACTED} was refused`);
    expect(redactText('customer u1 entered abandoned-cart')).toBe('customer u1 entered abandoned-cart');
  });

  test('turns errors into fields, redacting the message, stack and cause', () => {
    const cause = new Error('auth failed for smtp://mailer:hunter2@relay:587');
    const error = Object.assign(new Error('send failed', { cause }), { code: 'EAUTH', password: 'hunter2' });
    const out = redact({ err: error }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({ type: 'Error', message: 'send failed', code: 'EAUTH', password: REDACTED });
    expect(out.err.cause).toMatchObject({ type: 'Error', message: 'auth failed for smtp://mailer:***@relay:587' });
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  test('survives cycles, deep nesting, buffers and bigints', () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { deep };
    const out = redact({ loop, deep, bytes: Buffer.from('secret body'), big: 10n }) as Record<string, unknown>;
    expect(out.loop).toEqual({ name: 'loop', self: '[circular]' });
    expect(JSON.stringify(out.deep)).toContain('[too deep]');
    expect(out.bytes).toBe('[11 bytes]');
    expect(out.big).toBe('10');
  });

  test('knows secret keys by part, case and separator', () => {
    expect(['Authorization', 'set-cookie', 'TWILIO_AUTH_TOKEN', 'apiKey', 'write_key', 'db_password', 'pass', 'HTML'].every(isSecretKey)).toBe(true);
    expect(['email', 'journey', 'key', 'passedOver', 'subject', 'textLength'].some(isSecretKey)).toBe(false);
  });
});

describe('createLogger', () => {
  test('writes one JSON line per entry with time, level, service and pid, secrets redacted', () => {
    const out = captureLog();
    const logger = createLogger({ service: 'worker', level: 'info', destination: out.stream });
    logger.debug('not written at info');
    logger.info({ url: 'postgres://app:s3cret@db/x', writeKey: 'wk_live_abcdef' }, 'opened %s', 'postgres://app:s3cret@db/x');
    logger.child({ token: 'tok' }).warn(new Error('visit /unsubscribe/eyJ.sig failed'));
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatchObject({ level: 'info', service: 'worker', pid: process.pid, url: 'postgres://app:***@db/x', writeKey: REDACTED });
    expect(out.lines[0].msg).toBe('opened postgres://app:***@db/x');
    expect(new Date(out.lines[0].time as string).toISOString()).toBe(out.lines[0].time);
    expect(out.lines[1]).toMatchObject({ level: 'warn', token: REDACTED, msg: 'visit /unsubscribe/:token failed', err: { message: 'visit /unsubscribe/:token failed' } });
    expect(out.raw.join('')).not.toMatch(/s3cret|wk_live|eyJ\.sig|"tok"/);
  });
});

describe('temporalLogger', () => {
  test('writes the SDK\'s entries as JSON lines of the process log, with their metadata as fields', () => {
    const out = captureLog();
    installLogger({ service: 'worker', level: 'debug', destination: out.stream });
    const logger = temporalLogger('INFO');
    logger.debug('below the runtime level');
    logger.info('Worker state changed', { state: 'RUNNING', taskQueue: 'unbroken' });
    logger.error('Activity failed', { activityType: 'sendMessage', error: new Error('smtp://u:pw@relay refused') });
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatchObject({ level: 'info', service: 'worker', source: 'temporal', msg: 'Worker state changed', state: 'RUNNING', taskQueue: 'unbroken' });
    expect(out.lines[1]).toMatchObject({ level: 'error', activityType: 'sendMessage', error: { message: 'smtp://u:***@relay refused' } });
  });
});
