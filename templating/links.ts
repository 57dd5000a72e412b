/**
 * Links in mail HTML may only lead somewhere a reader expects: `http:`, `https:`, `mailto:`,
 * `tel:`, or a relative or `#fragment` address. Any other scheme (`javascript:`, `data:`,
 * `vbscript:`, `file:`, …) is dropped from the tag, so the text stays but is no link. The check
 * runs on the rendered HTML, so it covers what a template author wrote and what a profile or
 * event value put into an `href` alike; HTML escaping of values does not help there, since
 * `javascript:alert(1)` contains nothing to escape.
 *
 * The scheme is read the way a browser reads it: character references decoded (`&#106;`,
 * `&#x6A`, `&colon;`), tabs and line breaks anywhere removed, leading spaces and control
 * characters ignored, letters in any case.
 */

/** Schemes a link in mail may use. */
export const SAFE_LINK_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'mailto', 'tel']);

/** Attributes that make an element navigate or submit somewhere when followed. */
const LINK_ATTRIBUTES: ReadonlySet<string> = new Set(['href', 'xlink:href', 'action', 'formaction']);

/** Named character references a scheme could be spelled with; others stay as written (and make a scheme unsafe). */
const NAMED: Readonly<Record<string, string>> = {
  colon: ':',
  tab: '\t',
  newline: '\n',
  sol: '/',
  quest: '?',
  num: '#',
  period: '.',
  plus: '+',
  hyphen: '-',
  dash: '-',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

/** Decodes the character references of an attribute value (numeric ones with or without `;`). */
function decodeReferences(value: string): string {
  return value.replace(/&(?:#(\d+);?|#[xX]([0-9a-fA-F]+);?|([a-zA-Z]+);)/g, (whole, dec?: string, hex?: string, name?: string) => {
    if (dec !== undefined || hex !== undefined) {
      const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex as string, 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED[(name as string).toLowerCase()] ?? whole;
  });
}

/**
 * Whether an attribute value is a link a reader may follow: no scheme (relative, `#top`,
 * `//host/path`) or one of {@link SAFE_LINK_SCHEMES}.
 */
export function isSafeLink(rawValue: string): boolean {
  // Browsers drop tabs and line breaks anywhere in a URL, and leading/trailing C0 controls and spaces.
  const value = decodeReferences(rawValue).replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
  const colon = value.indexOf(':');
  if (colon === -1) return true;
  const before = value.slice(0, colon);
  // A `/`, `?` or `#` before the first colon makes it a relative address, not a scheme.
  if (/[/?#]/.test(before)) return true;
  return SAFE_LINK_SCHEMES.has(before.toLowerCase());
}

/** One attribute inside a tag: name, and its value with its quotes (or none). */
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?/g;

/** Drops every link attribute whose scheme is not safe from the start tags of `html`. */
export function dropUnsafeLinks(html: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const open = html.slice(at).search(/<[a-zA-Z]/);
    if (open === -1) break;
    const start = at + open;
    const end = tagEnd(html, start);
    out += html.slice(at, start) + cleanTag(html.slice(start, end));
    at = end;
  }
  return out + html.slice(at);
}

/** Index just after the `>` closing the start tag at `start`, quotes honoured; the end of the text if none. */
function tagEnd(html: string, start: number): number {
  let quote: string | undefined;
  for (let i = start + 1; i < html.length; i += 1) {
    const c = html[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      // Only a quote that opens an attribute value counts (after `=`); a stray one is text.
      if (/=\s*$/.test(html.slice(start, i))) quote = c;
    } else if (c === '>') {
      return i + 1;
    }
  }
  return html.length;
}

/** A start tag without its unsafe link attributes. */
function cleanTag(tag: string): string {
  const name = /^<[a-zA-Z][^\s/>]*/.exec(tag)?.[0] ?? '<';
  const body = tag.slice(name.length);
  let changed = false;
  const cleaned = body.replace(ATTRIBUTE, (whole, attribute: string, quoted?: string) => {
    if (!LINK_ATTRIBUTES.has(attribute.toLowerCase()) || quoted === undefined) return whole;
    const value = unquote(quoted);
    if (isSafeLink(value)) return whole;
    changed = true;
    return '';
  });
  return changed ? name + cleaned : tag;
}

/** An attribute value without its quotes; an unclosed quote (the tag runs to the end of the text) loses only the opening one. */
function unquote(quoted: string): string {
  const first = quoted[0];
  if (first !== '"' && first !== "'") return quoted;
  return quoted.length >= 2 && quoted.endsWith(first) ? quoted.slice(1, -1) : quoted.slice(1);
}
