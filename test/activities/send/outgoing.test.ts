import { emailHeaders } from '../../../activities/send/outgoing';
import { usesShortUnsubscribeLink } from '../../../activities/send/unsubscribe';
import type { TemplatePlan } from '../../../compiler/plan';

describe('emailHeaders', () => {
  it('names the journey and step, and adds one-click unsubscribe only with a link', () => {
    expect(emailHeaders('cart', 'reminder', undefined)).toEqual({ 'X-Unbroken-Journey': 'cart', 'X-Unbroken-Step': 'reminder' });
    expect(emailHeaders('cart', 'reminder', 'https://u.example/x')).toEqual({
      'X-Unbroken-Journey': 'cart',
      'X-Unbroken-Step': 'reminder',
      'List-Unsubscribe': '<https://u.example/x>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });
});

describe('usesShortUnsubscribeLink', () => {
  const sms: TemplatePlan = { id: 'promo', channel: 'sms', category: 'marketing', file: 'templates/promo.yaml', body: 'Sale! Stop: {{ unsubscribe_url }}' };

  it('finds the variable in any template part, in to: and in data:', () => {
    expect(usesShortUnsubscribeLink(sms, {})).toBe(false);
    expect(usesShortUnsubscribeLink({ ...sms, body: 'Stop: {{ unsubscribe_short_url }}' }, {})).toBe(true);
    expect(usesShortUnsubscribeLink(sms, { data: { link: '{{ unsubscribe_short_url }}' } })).toBe(true);
    expect(usesShortUnsubscribeLink(sms, { to: '{% if unsubscribe_short_url %}x{% endif %}' })).toBe(true);
  });

  it('does not mistake a longer name for it', () => {
    expect(usesShortUnsubscribeLink({ ...sms, body: '{{ unsubscribe_short_url_2 }}' }, {})).toBe(false);
  });
});
