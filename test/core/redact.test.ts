import { redactUrl } from '../../core/redact';

describe('redactUrl', () => {
  it('keeps the user name and hides the password of a well-formed URL', () => {
    expect(redactUrl('smtps://user:secret@smtp.example.com:465')).toBe('smtps://user:***@smtp.example.com:465');
    expect(redactUrl('postgres://unbroken:secret@db:5432/unbroken')).toBe('postgres://unbroken:***@db:5432/unbroken');
  });

  it('leaves a URL without credentials as it is', () => {
    expect(redactUrl('smtp://127.0.0.1:1025')).toBe('smtp://127.0.0.1:1025');
    expect(redactUrl('sqlite:.data/profiles.sqlite')).toBe('sqlite:.data/profiles.sqlite');
  });

  it.each([
    'smtp//user:secret@host',
    'smtps://user:secret@',
    'smtp:user:secret@host',
    'user:secret@host:25',
    'smtp://user:sec@ret@host',
    'smtp://user:se/cret@host',
    'smtp://:secret@host',
    'smtp://secret@host',
  ])('hides the credentials of the malformed %s', (url) => {
    expect(redactUrl(url)).not.toContain('secret');
    expect(redactUrl(url)).not.toContain('ret@');
  });
});
