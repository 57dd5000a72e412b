import { applyProfileChanges, applyTraits, emptyCustomer, normaliseAddress } from '../../profiles/rules';

describe('normaliseAddress', () => {
  it.each([
    ['email', 'Ann <ANN@Example.com>', 'ann@example.com'],
    ['email', '"Smith, Ann" <ann@example.com>;', 'ann@example.com'],
    ['email', ' ANN@EXAMPLE.COM, ', 'ann@example.com'],
    ['sms', '+1 (555) 010-0000', '+15550100000'],
    ['sms', '+1 555.010.0000', '+15550100000'],
  ])('compares %s %j as %s', (channel, address, canonical) => {
    expect(normaliseAddress(channel, address)).toBe(canonical);
  });

  it('still compares text that is not one address, trimmed and lower-case, without throwing', () => {
    expect(normaliseAddress('email', ' A@X.com, B@Y.com ')).toBe('a@x.com, b@y.com');
    expect(normaliseAddress('sms', ' 0044 (20) 7946-0958 ')).toBe('00442079460958');
    expect(normaliseAddress('webhook', ' https://Hooks.Example.com/X ')).toBe('https://hooks.example.com/x');
  });
});

describe('email and phone on the profile', () => {
  it('are kept canonical when they parse', () => {
    const state = emptyCustomer('c1');
    applyTraits(state, { email: 'Ann <ANN@Example.com>;', phone: '+44 20 7946.0958' });
    expect(state).toMatchObject({ email: 'ann@example.com', phone: '+442079460958' });
    applyProfileChanges(state, { set: { email: 'Bob@Example.com' } });
    expect(state.email).toBe('bob@example.com');
  });

  it('are kept as written when they do not, for the send to skip as invalid_address', () => {
    const state = emptyCustomer('c1');
    applyProfileChanges(state, { set: { email: 'a@x.com, b@y.com', phone: 'call me' } });
    expect(state).toMatchObject({ email: 'a@x.com, b@y.com', phone: 'call me' });
  });
});
