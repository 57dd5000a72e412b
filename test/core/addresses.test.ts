import { hasLoneSurrogate, parseAddress, parseEmailAddress, parsePhoneNumber } from '../../core/addresses';

const accepted = (raw: string) => {
  const parsed = parseEmailAddress(raw);
  if (!parsed.ok) throw new Error(`${JSON.stringify(raw)} was refused: ${parsed.reason}`);
  return parsed.address;
};
const refused = (raw: string) => {
  const parsed = parseEmailAddress(raw);
  if (parsed.ok) throw new Error(`${JSON.stringify(raw)} was accepted as ${parsed.address}`);
  return parsed.reason;
};

describe('parseEmailAddress', () => {
  it.each([
    ['ann@example.com'],
    ['ANN@EXAMPLE.COM'],
    ['  Ann@Example.com  '],
    ['Ann <ANN@Example.com>'],
    ['"Ann" <ann@example.com>'],
    ['"Smith, Ann" <ann@example.com>'],
    ['"Ann \\"the\\" Smith" <Ann@example.com>'],
    ['<ann@example.com>'],
    ['ann@example.com,'],
    ['ann@example.com;'],
    ['Ann <ann@example.com>; '],
    ['Ann O. Smith <ann@example.com>'],
  ])('reads %j as the one mailbox ann@example.com', (raw) => {
    expect(accepted(raw)).toBe('ann@example.com');
  });

  it('keeps plus tags, dots and international characters, lower-cased', () => {
    expect(accepted('First.Last+Promo@Mail.Example.CO.UK')).toBe('first.last+promo@mail.example.co.uk');
    expect(accepted('jörg@bücher.de')).toBe('jörg@bücher.de');
    expect(accepted('ops@localhost')).toBe('ops@localhost');
  });

  it.each([
    ['a@x.com, b@y.com', 'several'],
    ['a@x.com;b@y.com', 'several'],
    ['a@x.com b@y.com', 'several'],
    ['Ann <a@x.com>, Bob <b@y.com>', 'several'],
    ['a@x.com,,', 'several'],
    ['a@x.com@y.com', 'several'],
    ['team: a@x.com, b@y.com;', 'group'],
    ['undisclosed-recipients:;', 'group'],
    ['a@x.com\r\nBcc: evil@z.com', 'control characters'],
    ['a@x.com\nBcc: evil@z.com', 'control characters'],
    ['a@x.com\u0000', 'control characters'],
    ['a@x.com\u2028', 'control characters'],
    ['a@x.com\u0085', 'control characters'],
    ['ann.example.com', 'must contain @'],
    ['@example.com', 'before @'],
    ['ann@', 'domain after @'],
    ['', 'empty'],
    [',', 'empty'],
    ['"ann"@example.com', 'quoted local part'],
    ['ann@[127.0.0.1]', 'IP address literal'],
    ['ann..x@example.com', 'dots'],
    ['ann@exa_mple.com', 'host name'],
    ['ann@-example.com', 'host name'],
    ['Ann <ann@example.com', 'unclosed <'],
    ['"Ann <ann@example.com>', 'unclosed quote'],
    ['Ann <ann@example.com> extra', 'must end after'],
    ['Smith, Ann <ann@example.com>', 'quote a display name'],
    [`${'a'.repeat(65)}@example.com`, 'at most 64'],
    [`a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(10)}.com`, 'at most 254'],
    ['a\ud800@example.com', 'Unicode'],
  ])('refuses %j (%s)', (raw, why) => {
    expect(refused(raw)).toContain(why);
  });
});

describe('parsePhoneNumber', () => {
  it.each([
    ['+15550100000', '+15550100000'],
    ['+1 (555) 010-0000', '+15550100000'],
    [' +44 20 7946.0958 ', '+442079460958'],
    ['+49-151-1234-5678', '+4915112345678'],
  ])('reads %j as %s', (raw, e164) => {
    expect(parsePhoneNumber(raw)).toEqual({ ok: true, address: e164 });
  });

  it.each([
    ['00442079460958', '+44… rather than 0044'],
    ['020 7946 0958', 'country code'],
    ['+1 555 CALL NOW', 'E.164'],
    ['call me', 'E.164'],
    ['+0 555 010 0000', 'E.164'],
    ['+1234', 'E.164'],
    ['+1234567890123456', 'E.164'],
    ['+15550100000\r\n', 'control'],
    ['+1555010000, +1555010001', 'E.164'],
    [`+1${' '.repeat(80)}5550100000`, 'at most 64'],
  ])('refuses %j', (raw, why) => {
    const parsed = parsePhoneNumber(raw);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(why);
  });
});

describe('parseAddress', () => {
  it('parses email and sms, and only trims what other channels address', () => {
    expect(parseAddress('email', 'Ann <Ann@Example.com>')).toEqual({ ok: true, address: 'ann@example.com' });
    expect(parseAddress('sms', '+1 (555) 010-0000')).toEqual({ ok: true, address: '+15550100000' });
    expect(parseAddress('webhook', ' https://hooks.example.com/X ')).toEqual({ ok: true, address: 'https://hooks.example.com/X' });
  });
});

describe('hasLoneSurrogate', () => {
  it('finds a surrogate half without its partner, and accepts pairs', () => {
    expect(hasLoneSurrogate('a\ud800')).toBe(true);
    expect(hasLoneSurrogate('\udc00b')).toBe(true);
    expect(hasLoneSurrogate('\udc00\ud800')).toBe(true);
    expect(hasLoneSurrogate('smile 😀')).toBe(false);
  });
});
