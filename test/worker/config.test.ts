/** worker/config.ts: the bind address, and values echoed in configuration errors without their secrets. */
import { isLoopbackHost, loadConfig } from '../../worker/config';
import { configProblems as problems } from '../support/config';

describe('HOST', () => {
  it('defaults to 127.0.0.1, where unsubscribe links on 127.0.0.1 work', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  });

  it.each(['0.0.0.0', '::', '10.1.2.3', 'fe80::1', '127.0.0.1', '::1', 'localhost'])('accepts %s with UNBROKEN_PUBLIC_URL', (host) => {
    expect(loadConfig({ HOST: host, UNBROKEN_PUBLIC_URL: 'https://mail.example.com' }).host).toBe(host);
  });

  it.each(['example.com', '0.0.0.0:3000', 'http://0.0.0.0', '256.1.1.1', '*'])('refuses %s with a message saying what to give', (host) => {
    expect(problems({ HOST: host })).toEqual([
      `HOST: must be an IP address to listen on, e.g. 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface) or :: (every interface, IPv6 too), or localhost (got ${JSON.stringify(host)})`,
    ]);
  });

  it('requires UNBROKEN_PUBLIC_URL once the API listens beyond loopback, with the other problems', () => {
    expect(problems({ HOST: '0.0.0.0', TWILIO_FROM: '+15551234567' })).toEqual([
      'TWILIO_FROM: set SMS_PROVIDER=twilio to send through Twilio, or remove them',
      'UNBROKEN_PUBLIC_URL: required when HOST=0.0.0.0 lets other machines reach the event API, or unsubscribe links would ' +
        'point at http://127.0.0.1:3000; set it to the address customers reach the API at, e.g. https://mail.example.com ' +
        '(or leave HOST unset to listen on 127.0.0.1 only)',
    ]);
    expect(problems({ HOST: '::', PORT: '8080' })).toEqual([expect.stringContaining('UNBROKEN_PUBLIC_URL: required when HOST=:: ')]);
  });

  it('needs no public URL on loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('tells loopback addresses from the rest', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'].map(isLoopbackHost)).toEqual([true, true, true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.5', '::ffff:10.0.0.1'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});

describe('configuration errors hide credentials', () => {
  it.each([
    'smtp//user:secret@host',
    'smtps://user:secret@',
    'smtp://user:secret@',
    'smtp://user:secret@ho st:25',
    'http://user:secret@host',
    'smtp://user:sec@ret@host:99999',
    'smtps://user:secret@host:port',
  ])('SMTP_URL=%s is reported without its password', (url) => {
    const found = problems({ SMTP_URL: url });
    expect(found).toEqual([expect.stringMatching(/^SMTP_URL: must be smtp:\/\/host:port or smtps:\/\/user:pass@host:port \(got "/)]);
    expect(found.join('\n')).not.toContain('secret');
    expect(found.join('\n')).not.toContain('ret@');
  });

  it('shows the user name, so the operator can tell which value is meant', () => {
    expect(problems({ SMTP_URL: 'smtp//mailer:secret@host' })).toEqual([
      'SMTP_URL: must be smtp://host:port or smtps://user:pass@host:port (got "smtp//mailer:***@host")',
    ]);
  });

  it.each(['postgress://unbroken:secret@db:5432/unbroken', 'postgres://unbroken:secret@', 'mysql://root:secret@db/app'])(
    'DATABASE_URL=%s is refused at start without its password',
    (url) => {
      const found = problems({ DATABASE_URL: url });
      expect(found).toEqual([expect.stringMatching(/^DATABASE_URL: must be postgres:\/\/user:password@host:5432\/db, sqlite:<path> or sqlite::memory:/)]);
      expect(found.join('\n')).not.toContain('secret');
    },
  );

  it('accepts the DATABASE_URL forms the store opens', () => {
    for (const url of ['postgres://u:p@db:5432/app', 'postgresql://db/app', 'sqlite:.data/p.sqlite', 'sqlite:///tmp/p.sqlite', 'sqlite::memory:', ':memory:']) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });

  it('allows no private destination by default and reads UNBROKEN_HTTP_ALLOW_PRIVATE, naming every bad entry', () => {
    expect(loadConfig({}).httpAllowPrivate).toEqual([]);
    expect(loadConfig({ UNBROKEN_HTTP_ALLOW_PRIVATE: '10.20.0.0/16, hooks.internal' }).httpAllowPrivate).toEqual([
      { kind: 'net', address: '10.20.0.0', prefix: 16, family: 'ipv4' },
      { kind: 'host', host: 'hooks.internal' },
    ]);
    const found = problems({ UNBROKEN_HTTP_ALLOW_PRIVATE: '10.0.0.0/40,http://x/' });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^UNBROKEN_HTTP_ALLOW_PRIVATE: entry "10.0.0.0\/40" has a prefix length that is not 0 to 32/);
    expect(found[1]).toMatch(/^UNBROKEN_HTTP_ALLOW_PRIVATE: entry "http:\/\/x\/" is neither/);
  });

  it('hides the password of UNBROKEN_PUBLIC_URL and TWILIO_BASE_URL too, and all of the ConfigError text', () => {
    let message = '';
    try {
      loadConfig({ UNBROKEN_PUBLIC_URL: 'ftp://u:secret@x', TWILIO_BASE_URL: 'ftp://u:secret@x', SMTP_URL: 'smtp//u:secret@h' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/UNBROKEN_PUBLIC_URL: .*got "ftp:\/\/u:\*\*\*@x"/);
    expect(message).toMatch(/TWILIO_BASE_URL: /);
    expect(message).not.toContain('secret');
  });
});

describe('UNBROKEN_AUDIENCE_SWEEP_INTERVAL', () => {
  it('defaults to 15 minutes, takes a duration, and off turns the sweep off', () => {
    expect(loadConfig({}).audienceSweepMs).toBe(900_000);
    expect(loadConfig({ UNBROKEN_AUDIENCE_SWEEP_INTERVAL: '1h' }).audienceSweepMs).toBe(3_600_000);
    expect(loadConfig({ UNBROKEN_AUDIENCE_SWEEP_INTERVAL: 'off' }).audienceSweepMs).toBeUndefined();
  });

  it('refuses less than a minute and what is no duration', () => {
    expect(problems({ UNBROKEN_AUDIENCE_SWEEP_INTERVAL: '30s' })).toEqual(['UNBROKEN_AUDIENCE_SWEEP_INTERVAL: the audience sweep interval must be at least 1m (or off) (got "30s")']);
    expect(problems({ UNBROKEN_AUDIENCE_SWEEP_INTERVAL: 'hourly' })).toEqual([expect.stringMatching(/^UNBROKEN_AUDIENCE_SWEEP_INTERVAL: .*\(or off\) \(got "hourly"\)$/)]);
  });
});
