/**
 * Canonical addresses: an email address or a phone number, parsed once into the one form every
 * rule compares (suppression, consent, caps, the SMTP envelope, the privacy hash). The API parses
 * at the door and the send parses again before every message, because a stored value may predate
 * the check or come from a journey's profile change. Plain string code, sandbox-safe.
 *
 * Email: `addr`, `Name <addr>` or `"Quoted, Name" <addr>`, surrounding whitespace and one trailing
 * `,` or `;` are accepted; the canonical form is the bare addr-spec, lower-cased. Refused: two
 * addresses, group syntax (`team: a@x.com;`), any control character (CR/LF included), a quoted
 * local part or a domain literal, a missing `@`, an empty local part or domain, and anything over
 * 254 characters.
 *
 * Phone: E.164 (`+4915112345678`); spaces, dashes, dots and parentheses are dropped. A number
 * must start with `+` and its country code: `0044…` or a national `030…` is refused, because
 * which international prefix or country is meant depends on where the customer dialled from.
 */

/** Longest accepted email addr-spec (RFC 5321's path limit minus the angle brackets). */
export const MAX_EMAIL_LENGTH = 254;
/** Longest accepted local part of an email address (RFC 5321). */
export const MAX_LOCAL_PART_LENGTH = 64;
/** Longest raw phone text looked at; E.164 itself has at most 15 digits. */
export const MAX_PHONE_INPUT_LENGTH = 64;

/** A parsed address, or in words why the text is not exactly one. */
export type AddressParse = { ok: true; address: string } | { ok: false; reason: string };

/** C0 controls, DEL, C1 controls and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Characters of an unquoted local part (RFC 5322 atext) besides letters and digits; non-ASCII letters are allowed too (RFC 6531). */
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u00a0-\uffff]+$/;
/** One domain label: letters, digits, hyphens (not at either end), non-ASCII for internationalised domains. */
const LABEL = /^[A-Za-z0-9\u00a0-\uffff](?:[A-Za-z0-9\-\u00a0-\uffff]{0,61}[A-Za-z0-9\u00a0-\uffff])?$/;
/** Characters an unquoted display name may not hold (RFC 5322 specials other than `.`). */
const PHRASE_SPECIALS = /[<>@,;:"()[\]\\]/;
/** `+`, a non-zero country code digit, 7 to 15 digits in all (E.164 allows at most 15). */
const E164 = /^\+[1-9]\d{6,14}$/;
/** Separators people type into phone numbers; dropped before checking. */
const PHONE_SEPARATORS = /[\s\-.()]/g;

const refuse = (reason: string): AddressParse => ({ ok: false, reason });

/** Whether `text` holds a lone UTF-16 surrogate (text that is no valid Unicode). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** Whether `text` holds a control character (C0, DEL, C1) or a Unicode line/paragraph separator. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Parses text that must be exactly one email address into its canonical form (bare, lower-case). */
export function parseEmailAddress(raw: string): AddressParse {
  if (typeof raw !== 'string') return refuse('must be text');
  if (CONTROL.test(raw)) return refuse('must not contain control characters or line breaks');
  if (hasLoneSurrogate(raw)) return refuse('must be valid Unicode text');
  let text = raw.trim();
  // One trailing separator is what a copied list entry looks like; nothing may follow it.
  if (text.endsWith(',') || text.endsWith(';')) text = text.slice(0, -1).trimEnd();
  if (text === '') return refuse('must be an email address, got empty text');
  const spec = addrSpecOf(text);
  if (!spec.ok) return spec;
  return checkAddrSpec(spec.address);
}

/** The addr-spec inside `text`: the text itself, or the part in `<…>` after a display name. */
function addrSpecOf(text: string): AddressParse {
  let rest = text;
  if (rest.startsWith('"')) {
    const end = closingQuote(rest);
    if (end === -1) return refuse('has an unclosed quote in its display name');
    rest = rest.slice(end + 1).trimStart();
    if (rest.startsWith('@')) return refuse('must not use a quoted local part');
    if (!rest.startsWith('<')) return refuse('must be one address: a quoted display name must be followed by <address>');
  }
  const open = rest.indexOf('<');
  if (open === -1) {
    return outsideQuotesProblem(text) ?? { ok: true, address: rest };
  }
  const phrase = rest.slice(0, open);
  if (PHRASE_SPECIALS.test(phrase)) {
    return refuse(phrase.includes(':') ? 'must be one address, not a group' : 'must be one address: quote a display name that holds , ; : @ or brackets');
  }
  const close = rest.indexOf('>', open);
  if (close === -1) return refuse('has an unclosed <');
  const after = rest.slice(close + 1);
  if (after.trim() !== '') return refuse(/[,;]/.test(after) ? 'must be one address, got several' : 'must end after <address>');
  return { ok: true, address: rest.slice(open + 1, close).trim() };
}

/** Index of the quote closing the quoted string that opens `text`, honouring backslash escapes; -1 if none. */
function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Why a bare address is clearly not one address (a list, a group), before its parts are checked. */
function outsideQuotesProblem(text: string): AddressParse | undefined {
  if (text.includes(':')) return refuse('must be one address, not a group');
  if (/[,;]/.test(text) || (text.match(/@/g)?.length ?? 0) > 1 || /\s/.test(text)) return refuse('must be one address, got several');
  return undefined;
}

/** Checks an addr-spec and lower-cases it. */
function checkAddrSpec(spec: string): AddressParse {
  if (spec.length > MAX_EMAIL_LENGTH) return refuse(`must be at most ${MAX_EMAIL_LENGTH} characters`);
  const at = spec.lastIndexOf('@');
  if (at === -1) return refuse('must contain @');
  const local = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  if (local === '') return refuse('must have a name before @');
  if (domain === '') return refuse('must have a domain after @');
  if (local.startsWith('"')) return refuse('must not use a quoted local part');
  if (local.length > MAX_LOCAL_PART_LENGTH) return refuse(`must have at most ${MAX_LOCAL_PART_LENGTH} characters before @`);
  if (local.split('.').some((atom) => !ATEXT.test(atom))) return refuse('has characters or dots before @ that an address cannot hold');
  if (domain.startsWith('[')) return refuse('must name a domain, not an IP address literal');
  if (domain.split('.').some((label) => !LABEL.test(label))) return refuse('has a domain that is not a host name');
  return { ok: true, address: spec.toLowerCase() };
}

/** Parses text that must be exactly one phone number into E.164 (`+4915112345678`). */
export function parsePhoneNumber(raw: string): AddressParse {
  if (typeof raw !== 'string') return refuse('must be text');
  if (raw.length > MAX_PHONE_INPUT_LENGTH) return refuse(`must be at most ${MAX_PHONE_INPUT_LENGTH} characters`);
  if (CONTROL.test(raw)) return refuse('must not contain control characters or line breaks');
  const number = raw.replace(PHONE_SEPARATORS, '');
  if (E164.test(number)) return { ok: true, address: number };
  if (/^00[1-9]/.test(number)) return refuse('must start with + and the country code, e.g. +44… rather than 0044…');
  if (/^\d+$/.test(number)) return refuse('must start with + and the country code (E.164, e.g. +4915112345678)');
  return refuse('must be a phone number in E.164 form, e.g. +4915112345678 (digits, spaces, dashes, dots and parentheses only)');
}

/**
 * The canonical address of `raw` on `channel`: email and sms are parsed; any other channel's
 * addresses (a webhook URL) are only trimmed.
 */
export function parseAddress(channel: string, raw: string): AddressParse {
  if (channel === 'email') return parseEmailAddress(raw);
  if (channel === 'sms') return parsePhoneNumber(raw);
  return { ok: true, address: raw.trim() };
}
