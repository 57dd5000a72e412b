import { compileJourneySource } from '../../compiler/index';
import { fakeActivities, fakeBuiltinPolicies } from './helpers';

const env = { templates: new Map(), activities: fakeActivities, builtinPolicies: fakeBuiltinPolicies };
const names = { file: 'journeys/j.yaml', errorFile: 'journeys/j.yaml' };
const compile = (trigger: string, extra = '') =>
  compileJourneySource(`journey: j\ntrigger:\n${trigger}\n${extra}steps:\n  - wait: 1h\n`, names, env);

describe('trigger.key', () => {
  test('compiles to the dotted path it reads, and per_key into the journey cap', () => {
    const { plan, errors } = compile('  event: cart_abandoned\n  key: "{{ trigger.properties.cart_id }}"', 'frequency_cap: { max: 2, per: 7d, per_key: true }\n');
    expect(errors).toEqual([]);
    expect(plan?.trigger).toEqual({ event: 'cart_abandoned', key: 'trigger.properties.cart_id' });
    expect(plan?.frequencyCap).toEqual({ max: 2, windowMs: 7 * 86_400_000, perKey: true });
  });

  test('a journey without key compiles exactly as before, so its version stays', () => {
    const { plan } = compile('  event: cart_abandoned', 'frequency_cap: { max: 2, per: 7d }\n');
    expect(plan?.trigger).toEqual({ event: 'cart_abandoned' });
    expect(plan?.frequencyCap).toEqual({ max: 2, windowMs: 7 * 86_400_000 });
    expect(Object.keys(plan?.frequencyCap ?? {})).toEqual(['max', 'windowMs']);
  });

  test.each([
    ['{{ profile.email }}', /reads profile\.\*; a key may only read the entering event/],
    ['cart-{{ trigger.properties.cart_id }}', /exactly one \{\{ trigger\.… \}\} expression/],
    ["{{ trigger.properties.cart_id | default: 'x' }}", /exactly one/],
    ['{{ trigger }}', /is not a valid path/],
    ['trigger.properties.cart_id', /exactly one/],
  ])('refuses key %s with a message that says why', (key, message) => {
    const { plan, errors } = compile(`  event: cart_abandoned\n  key: ${JSON.stringify(key)}`);
    expect(plan).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: 'trigger.key', line: 4 });
    expect(errors[0].message).toMatch(message);
    expect(errors[0].hint).toContain('{{ trigger.properties.cart_id }}');
  });

  test('refuses per_key without a key', () => {
    const { errors } = compile('  event: cart_abandoned', 'frequency_cap: { max: 2, per: 7d, per_key: true }\n');
    expect(errors.map((e) => e.code)).toEqual(['per_key_without_key']);
  });
});
