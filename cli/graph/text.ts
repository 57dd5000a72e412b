/**
 * Approximate text widths and line wrapping for the journey pictures. There is no browser at
 * render time, so widths come from a per-character table that errs on the wide side for common
 * sans-serif fonts (DejaVu Sans, Verdana, Arial): a box may be a little roomy, never too narrow.
 */

/** Width of one character as a fraction of the font size. */
function charWidth(ch: string): number {
  const code = ch.codePointAt(0) ?? 0;
  if (code >= 0x1100 && (code <= 0x115f || (code >= 0x2e80 && code <= 0xa4cf) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) || code >= 0x1f300)) {
    return 1.05; // CJK, full-width forms and emoji take a full square
  }
  if (' '.includes(ch)) return 0.34;
  if ('iljI.,:;|!\'`'.includes(ch)) return 0.34;
  if ('ftr()[]{}"/\\-'.includes(ch)) return 0.46;
  if ('mwMW@%'.includes(ch)) return 1.0;
  if (/[A-Z]/.test(ch)) return 0.74;
  if (/[0-9]/.test(ch)) return 0.66;
  return 0.66;
}

/** Approximate width in pixels of `text` at `fontSize`; bold text is about a tenth wider. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch);
  return w * fontSize * (bold ? 1.12 : 1);
}

/**
 * Breaks `text` into lines no wider than `maxWidth`, at spaces where it can, inside a word
 * (a long id or URL) where it must.
 */
export function wrapText(text: string, fontSize: number, maxWidth: number, bold = false): string[] {
  const lines: string[] = [];
  let line = '';
  const push = () => {
    if (line !== '') lines.push(line);
    line = '';
  };
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (textWidth(candidate, fontSize, bold) <= maxWidth) {
      line = candidate;
      continue;
    }
    push();
    let rest = word;
    while (textWidth(rest, fontSize, bold) > maxWidth) {
      let cut = '';
      for (const ch of rest) {
        if (textWidth(cut + ch, fontSize, bold) > maxWidth && cut !== '') break;
        cut += ch;
      }
      lines.push(cut);
      rest = rest.slice(cut.length);
    }
    line = rest;
  }
  push();
  return lines.length ? lines : [''];
}
