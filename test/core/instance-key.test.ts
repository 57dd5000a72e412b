import { instanceKeyHash, instanceKeyOf, MAX_INSTANCE_KEY_LENGTH } from '../../core/index';
import { journeyWorkflowId } from '../../workflows/definitions';

const event = (properties: Record<string, unknown>) => ({ event: 'cart_abandoned', properties });
const path = 'trigger.properties.cart_id';

describe('instanceKeyOf', () => {
  test('makes text and numbers one canonical text: trimmed, NFC, 42 and "42" alike', () => {
    expect(instanceKeyOf(path, event({ cart_id: '  c-1 ' }))).toEqual({ ok: true, key: 'c-1' });
    expect(instanceKeyOf(path, event({ cart_id: 42 }))).toEqual({ ok: true, key: '42' });
    expect(instanceKeyOf(path, event({ cart_id: '42' }))).toEqual({ ok: true, key: '42' });
    expect(instanceKeyOf(path, event({ cart_id: 'Cafe\u0301' }))).toEqual({ ok: true, key: 'Caf\u00e9' });
  });

  test('gives no key, with the reason, for missing, empty, structured, boolean or overlong values', () => {
    expect(instanceKeyOf(path, event({}))).toEqual({ ok: false, reason: 'trigger.key {{ trigger.properties.cart_id }} of the "cart_abandoned" event is missing' });
    expect(instanceKeyOf(path, event({ cart_id: null }))).toMatchObject({ ok: false, reason: expect.stringMatching(/is missing$/) });
    expect(instanceKeyOf(path, event({ cart_id: '   ' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/is empty$/) });
    expect(instanceKeyOf(path, event({ cart_id: { id: 1 } }))).toMatchObject({ ok: false, reason: expect.stringMatching(/an? object, not text or a number$/) });
    expect(instanceKeyOf(path, event({ cart_id: ['a'] }))).toMatchObject({ ok: false, reason: expect.stringMatching(/a list/) });
    expect(instanceKeyOf(path, event({ cart_id: true }))).toMatchObject({ ok: false });
    expect(instanceKeyOf(path, event({ cart_id: Number.NaN }))).toMatchObject({ ok: false });
    expect(instanceKeyOf(path, event({ cart_id: 'x'.repeat(MAX_INSTANCE_KEY_LENGTH + 1) }))).toMatchObject({ ok: false, reason: expect.stringMatching(/longer than 200/) });
    expect(instanceKeyOf(path, event({ cart_id: 'x'.repeat(MAX_INSTANCE_KEY_LENGTH) }))).toMatchObject({ ok: true });
  });
});

describe('workflow ids', () => {
  test('are unchanged without a key, and carry a 12-hex hash of the key, never the key itself', () => {
    expect(journeyWorkflowId('cart', 'c1')).toBe('journey:cart:c1');
    const id = journeyWorkflowId('cart', 'c1', 'ann@example.com');
    expect(id).toMatch(/^journey:cart:c1:k[0-9a-f]{12}$/);
    expect(id).not.toContain('ann');
    expect(instanceKeyHash('ann@example.com')).toBe(instanceKeyHash('ann@example.com'));
    expect(instanceKeyHash('cart-1')).not.toBe(instanceKeyHash('cart-2'));
  });
});
