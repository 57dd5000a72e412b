import { resolveUrlExpressions } from '../../core/index';

const scope = {
  profile: { id: 'c1', team: '../admin', path: 'a/b', query: '?x=1&y=2', frag: '#top', spaced: 'a b', hook: 'https://hooks.example.com/x?y=1', n: 42 },
  trigger: { properties: { cart_id: 'cart/../../9' } },
};

describe('resolveUrlExpressions', () => {
  it.each([
    ['https://crm.example.com/teams/{{ profile.team }}/hook', 'https://crm.example.com/teams/..%2Fadmin/hook'],
    ['https://crm.example.com/{{ profile.path }}', 'https://crm.example.com/a%2Fb'],
    ['https://crm.example.com/c?id={{ profile.query }}', 'https://crm.example.com/c?id=%3Fx%3D1%26y%3D2'],
    ['https://crm.example.com/c/{{ profile.frag }}', 'https://crm.example.com/c/%23top'],
    ['https://crm.example.com/c/{{ profile.spaced }}', 'https://crm.example.com/c/a%20b'],
    ['https://crm.example.com/carts/{{ trigger.properties.cart_id }}?n={{ profile.n }}', 'https://crm.example.com/carts/cart%2F..%2F..%2F9?n=42'],
    ['https://crm.example.com/c/{{ profile.missing }}', 'https://crm.example.com/c/'],
  ])('keeps inserted values inside their part: %s', (url, expected) => {
    expect(resolveUrlExpressions(url, scope)).toBe(expected);
    // What reaches the server: the path and query the author wrote, nothing more.
    const parsed = new URL(expected);
    expect(parsed.hash).toBe('');
    expect(parsed.pathname.split('/').length).toBe(new URL(url.replace(/\{\{[^}]*\}\}/g, 'x')).pathname.split('/').length);
  });

  it('leaves a URL that is one expression as the value itself (checked where it is used)', () => {
    expect(resolveUrlExpressions('{{ profile.hook }}', scope)).toBe('https://hooks.example.com/x?y=1');
    expect(resolveUrlExpressions('{{profile.n}}', scope)).toBe(42);
  });
});
