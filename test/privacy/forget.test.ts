/** The door of forget and export: which customer ids are ids. */
import { InvalidCustomerIdError, parseCustomerId } from '../../privacy/forget';

test('ids as the event API stores them pass unchanged', () => {
  for (const id of ['u1', 'user@example.com', 'анна-7', '🙂 smile', 'a'.repeat(512), ' spaced ']) expect(parseCustomerId(id)).toBe(id);
});

test('anything else is refused naming the field id', () => {
  const bad: unknown[] = ['', '   ', 'a\u0000b', 'tab\there', 'line\nbreak', 'del\u007f', 'lone \ud800 high', 'lone \udc00 low', 'a'.repeat(513), 42, null, undefined, ['u1'], { id: 'u1' }];
  for (const value of bad) {
    let error: unknown;
    try {
      parseCustomerId(value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidCustomerIdError);
    expect((error as InvalidCustomerIdError).field).toBe('id');
    expect((error as Error).message).toMatch(/^id: /);
  }
});
