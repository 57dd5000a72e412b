import { smsLengthWarning, smsSegments, smsTemplateFloor, UNSUBSCRIBE_SHORT_URL_LENGTH, UNSUBSCRIBE_URL_LENGTH } from '../../compiler/sms';

describe('smsSegments', () => {
  test('GSM-7 fits 160 characters in one segment and 153 per part after that', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSegments('a'.repeat(307))).toEqual({ encoding: 'GSM-7', units: 307, segments: 3 });
  });

  test('extension characters count twice, and one character outside GSM-7 makes the text UCS-2', () => {
    expect(smsSegments('€'.repeat(80)).segments).toBe(1);
    expect(smsSegments('€'.repeat(81)).segments).toBe(2);
    expect(smsSegments(`${'a'.repeat(69)}ł`)).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(`${'a'.repeat(70)}ł`)).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
  });
});

describe('smsLengthWarning', () => {
  test('values are left out of the estimate, the unsubscribe link is counted', () => {
    expect(smsTemplateFloor('Hi {{ profile.first_name }}{% if x %}!{% endif %}')).toBe('Hi !');
    expect(smsTemplateFloor('Stop: {{ unsubscribe_url }}')).toHaveLength(6 + UNSUBSCRIBE_URL_LENGTH);
    expect(smsTemplateFloor('Stop: {{- unsubscribe_short_url -}}')).toHaveLength(6 + UNSUBSCRIBE_SHORT_URL_LENGTH);
  });

  test('the short link fits where the signed one does not, and the warning about the signed one suggests it', () => {
    const text = `${'a'.repeat(100)} Stop: `;
    expect(smsLengthWarning(`${text}{{ unsubscribe_short_url }}`)).toBeNull();
    const warning = smsLengthWarning(`${text}{{ unsubscribe_url }}`);
    expect(warning?.message).toMatch(/counting 170 for \{\{ unsubscribe_url \}\}/);
    expect(warning?.hint).toContain('use {{ unsubscribe_short_url }} (about 35 characters) instead of {{ unsubscribe_url }}');
    const stillLong = smsLengthWarning(`${'a'.repeat(130)} Stop: {{ unsubscribe_short_url }}`);
    expect(stillLong?.message).toMatch(/counting 35 for \{\{ unsubscribe_short_url \}\}/);
    expect(stillLong?.hint).not.toContain('instead of');
  });

  test('a text of one segment passes, a longer one is warned about', () => {
    expect(smsLengthWarning('Your cart is waiting: {{ data.link }}')).toBeNull();
    expect(smsLengthWarning('Stop: {{ unsubscribe_url }}')?.message).toMatch(/2 segments/);
  });
});
