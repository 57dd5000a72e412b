/**
 * The HTML pages the API shows customers (unsubscribe, survey answers): one look, one security
 * policy, and every value that came from outside escaped with `escapeHtml`.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

const STYLE = [
  'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}',
  'h1{font-size:1.5rem}',
  'button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;border-radius:.3rem;background:#1a1a1a;color:#fff;cursor:pointer}',
  'button:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}',
  // Survey answer form: the scores as one wrapping row of labelled choices, then the comment box.
  'fieldset{border:0;padding:0;margin:0 0 1rem}',
  '.scores{display:flex;flex-wrap:wrap;gap:.4rem}',
  '.scores label{display:inline-flex;align-items:center;gap:.3rem;padding:.4rem .6rem;border:1px solid #767676;border-radius:.3rem;cursor:pointer}',
  '.ends{display:flex;justify-content:space-between;font-size:.9rem;color:#4a4a4a}',
  'textarea{box-sizing:border-box;width:100%;min-height:6rem;font:inherit;padding:.4rem}',
  '.error{color:#a50e0e;font-weight:600}',
].join('');

/**
 * The security policy of a page Unbroken serves: no scripts, images, frames or outside resources;
 * only the page's own stylesheet (by hash) and forms posting back to this server. `form-action
 * 'self'` also keeps an injected form, if an escaping bug ever let one in, from posting anywhere
 * else. The customer pages here and the console share it.
 */
export function pageSecurityPolicy(stylesheet: string, opts: { framesSelf?: boolean } = {}): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(stylesheet, 'utf8').digest('base64')}'`,
    // Only for a page that frames a document of this server (the console's e-mail preview).
    ...(opts.framesSelf === true ? ["frame-src 'self'"] : []),
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const CSP = pageSecurityPolicy(STYLE);

/** A page: its title (also its heading) and its body, HTML built with `escapeHtml` by the caller. */
export interface Page {
  title: string;
  body: string;
  /**
   * `no-referrer` by default. A page whose form must be checked by `Origin` uses `same-origin`:
   * browsers send `Origin: null` on a POST from a `no-referrer` page, while `same-origin` still
   * keeps the token out of requests to other sites.
   */
  referrerPolicy?: 'no-referrer' | 'same-origin';
}

/** Sends a self-contained HTML page with headers that keep the credential in its URL private. */
export function sendPage(reply: FastifyReply, status: number, page: Page): FastifyReply {
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="robots" content="noindex, nofollow">' +
    `<title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(page.title)}</h1>${page.body}</main></body></html>`;
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    // The URL holds the token: keep it out of Referer headers, caches and search indexes.
    .header('referrer-policy', page.referrerPolicy ?? 'no-referrer')
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex, nofollow')
    .send(html);
}

/** Plain-text paragraphs as HTML. */
export function paragraphs(texts: readonly string[], className?: string): string {
  const open = className === undefined ? '<p>' : `<p class="${escapeHtml(className)}">`;
  return texts.map((text) => `${open}${escapeHtml(text)}</p>`).join('');
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
