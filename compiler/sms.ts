/**
 * How many SMS segments a text takes. Carriers bill per segment and split long texts: GSM-7 (the
 * basic Latin alphabet) fits 160 characters in one segment and 153 per segment when concatenated;
 * one character outside it (an emoji, "ł", curly quotes) makes the whole text UCS-2, 70 and 67.
 */
import { SURVEY_VARIABLES } from '../core/surveys';

// GSM 03.38 basic set, and the extension set whose characters take two units (escape + char).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENDED = new Set('^{}\\[~]|€\f');

/** Rough length of the link `{{ unsubscribe_url }}` renders to: a signed token in a URL. */
export const UNSUBSCRIBE_URL_LENGTH = 170;
/**
 * Rough length of `{{ unsubscribe_short_url }}`: `<public url>/u/` and a 10-character code
 * (delivery/short-links.ts), with a public URL of about 22 characters (`https://example.com/u/`
 * plus the code is 32, `https://mail.example.com/u/` plus the code 37).
 */
export const UNSUBSCRIBE_SHORT_URL_LENGTH = 35;
/**
 * Rough length of `{{ survey_url }}`: a signed token binding customer, run, step and survey
 * (delivery/survey-tokens.ts) is about 250 characters, more than one segment on its own.
 */
export const SURVEY_URL_LENGTH = 270;
const SURVEY_URL_OUTPUT = new RegExp(String.raw`\{\{-?\s*${SURVEY_VARIABLES.url}\s*-?\}\}`, 'g');

/** The encoding a text needs, its length in that encoding's units, and the segments it takes. */
export function smsSegments(text: string): { encoding: 'GSM-7' | 'UCS-2'; units: number; segments: number } {
  let gsm = true;
  let units = 0;
  for (const ch of text) {
    if (GSM7_BASIC.has(ch)) units += 1;
    else if (GSM7_EXTENDED.has(ch)) units += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (!gsm) {
    // UCS-2 counts UTF-16 code units: an emoji outside the basic plane takes two.
    units = text.length;
    return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
  }
  return { encoding: 'GSM-7', units, segments: units <= 160 ? 1 : Math.ceil(units / 153) };
}

/**
 * The fixed part of an SMS template as it will at least be sent: Liquid tags dropped, values left
 * out (their length depends on the customer), except the unsubscribe links, whose lengths are known.
 */
export function smsTemplateFloor(body: string): string {
  return body
    .replace(/\{%-?[\s\S]*?-?%\}/g, '')
    .replace(/\{\{-?\s*unsubscribe_url\s*-?\}\}/g, 'x'.repeat(UNSUBSCRIBE_URL_LENGTH))
    .replace(/\{\{-?\s*unsubscribe_short_url\s*-?\}\}/g, 'x'.repeat(UNSUBSCRIBE_SHORT_URL_LENGTH))
    .replace(SURVEY_URL_OUTPUT, 'x'.repeat(SURVEY_URL_LENGTH))
    .replace(/\{\{-?[\s\S]*?-?\}\}/g, '');
}

/** A warning for an SMS body that takes more than one segment before any value is filled in, or null. */
export function smsLengthWarning(body: string): { message: string; hint: string } | null {
  const floor = smsTemplateFloor(body);
  const { encoding, units, segments } = smsSegments(floor);
  if (segments <= 1) return null;
  const long = /\{\{-?\s*unsubscribe_url/.test(body);
  const short = /\{\{-?\s*unsubscribe_short_url/.test(body);
  const survey = body.includes(SURVEY_VARIABLES.url);
  const counted = [
    ...(long ? [`${UNSUBSCRIBE_URL_LENGTH} for {{ unsubscribe_url }}`] : []),
    ...(short ? [`${UNSUBSCRIBE_SHORT_URL_LENGTH} for {{ unsubscribe_short_url }}`] : []),
    ...(survey ? [`${SURVEY_URL_LENGTH} for the survey link`] : []),
  ];
  const link = counted.length > 0 ? ` (counting ${counted.join(' and ')})` : '';
  const perSegment = encoding === 'GSM-7' ? '160 characters, 153 per part when split' : '70 characters, 67 per part when split, because of characters outside GSM-7';
  const remedies = [
    'shorten the text',
    ...(encoding === 'UCS-2' ? ['leave out emoji and other characters outside GSM-7'] : []),
    ...(long ? [`use {{ unsubscribe_short_url }} (about ${UNSUBSCRIBE_SHORT_URL_LENGTH} characters) instead of {{ unsubscribe_url }}`] : []),
    ...(long || short ? ['leave out the unsubscribe link where your sender handles STOP replies'] : []),
    ...(survey ? ['ask the survey by email, where the links cost nothing'] : []),
  ];
  return {
    message: `sms body is at least ${units} ${encoding} characters${link}: ${segments} segments, each billed as one message`,
    hint: `one segment holds ${perSegment}; ${remedies.join(', or ')}`,
  };
}
