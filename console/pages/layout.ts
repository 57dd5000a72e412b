/**
 * The console's page shell: one stylesheet (light and dark by `prefers-color-scheme`), a
 * navigation of real links, and a security policy allowing no script at all. Every value from
 * outside reaches the page through `escapeHtml` (api/pages.ts) or the helpers here.
 */
import type { FastifyReply } from 'fastify';
import { escapeHtml, pageSecurityPolicy } from '../../api/pages';

export { escapeHtml };

const STYLE = [
  ':root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--head:#f3f3f3;--accent:#0b57d0;--bad:#a50e0e;--good:#136c2e}',
  '@media (prefers-color-scheme:dark){:root{--bg:#141414;--fg:#e8e8e8;--muted:#a8a8a8;--line:#3a3a3a;--head:#202020;--accent:#8ab4f8;--bad:#f28b82;--good:#81c995}}',
  'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;line-height:1.45;color:var(--fg);background:var(--bg)}',
  'a{color:var(--accent)}',
  'header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line)}',
  'header nav{display:flex;gap:1rem;flex:1}',
  'header strong{margin-right:1rem}',
  'main{padding:1rem;max-width:96rem;box-sizing:border-box}',
  '.scroll{overflow-x:auto}td>code:only-child{white-space:nowrap}',
  'h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .3rem}',
  'table{border-collapse:collapse;margin:.3rem 0 1rem;font-variant-numeric:tabular-nums}',
  'th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}',
  'th{background:var(--head)}td.n{text-align:right}',
  'caption{text-align:left;padding:.2rem 0}time{white-space:nowrap}',
  'button,input{font:inherit;color:inherit}',
  'button{padding:.3rem .8rem;border:1px solid var(--fg);border-radius:.3rem;background:var(--bg);cursor:pointer}',
  'input[type=text],input[type=password],input[type=search]{padding:.35rem .5rem;border:1px solid var(--muted);border-radius:.3rem;background:var(--bg);min-width:18rem}',
  'a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}',
  'form.inline{display:inline}',
  '.muted{color:var(--muted)}.bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}',
  'code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;white-space:pre-wrap;word-break:break-word;margin:0}',
  '.skip-link{position:absolute;left:-999px}.skip-link:focus{left:1rem;top:.5rem;background:var(--bg);padding:.3rem}',
  // The journey page: pictures keep their light panel in dark mode (their colours are drawn for it).
  '.picture{margin:.3rem 0 1rem;padding:.5rem;background:#fff;color:#1a1a1a;border:1px solid var(--line);border-radius:.3rem;max-width:100%;box-sizing:border-box;display:inline-block}',
  '.picture svg{display:block;max-width:100%;height:auto}.picture figcaption{color:#555;font-size:.9em;margin-top:.3rem}',
  'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0 0 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}',
  'select{font:inherit;color:inherit;background:var(--bg);padding:.3rem;border:1px solid var(--muted);border-radius:.3rem}',
  'select:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}summary{cursor:pointer}',
  'form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:0 0 1rem}.field{white-space:nowrap}.pager{display:flex;gap:1.5rem}',
  'pre.message{border:1px solid var(--line);background:var(--head);padding:.6rem;max-width:60rem}',
  // The e-mail keeps its own colours: a white sheet in dark mode too, as a mail client shows it.
  'iframe.mail{width:100%;max-width:60rem;height:28rem;border:1px solid var(--line);background:#fff}details{margin:.5rem 0}',
].join('');

/** No scripts at all, no outside resources, only this stylesheet; forms post back here only. */
const CSP = pageSecurityPolicy(STYLE);
/** The same, for a page that frames one of the console's own documents (the template preview). */
const CSP_FRAMING = pageSecurityPolicy(STYLE, { framesSelf: true });

/** A console page: its title (also its heading), its body (HTML built with `escapeHtml`), and the session's CSRF token for the logout button. */
export interface ConsolePage {
  title: string;
  body: string;
  /** Absent on the login page: no navigation then. */
  csrf?: string;
  /** The page frames a console document (its policy then allows `frame-src 'self'`). */
  framesSelf?: boolean;
}

/** Sends a console page with headers that keep it out of caches, frames and other sites' referrers. */
export function sendConsolePage(reply: FastifyReply, status: number, page: ConsolePage): FastifyReply {
  const nav =
    page.csrf === undefined
      ? '<header><strong>Unbroken console</strong></header>'
      : '<header><strong>Unbroken console</strong><nav aria-label="Console">' +
        '<a href="/console/journeys">Journeys</a><a href="/console/customers">Customers</a>' +
        '<a href="/console/messages">Messages</a><a href="/console/templates">Templates</a></nav>' +
        `<form class="inline" method="post" action="/console/logout">${csrfField(page.csrf)}<button type="submit">Log out</button></form></header>`;
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="robots" content="noindex, nofollow">' +
    `<title>${escapeHtml(page.title)} · Unbroken</title><style>${STYLE}</style></head>` +
    `<body><a class="skip-link" href="#main">Skip to content</a>${nav}<main id="main"><h1>${escapeHtml(page.title)}</h1>${page.body}</main></body></html>`;
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', page.framesSelf === true ? CSP_FRAMING : CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex, nofollow')
    .send(html);
}

/** The hidden field carrying the session's CSRF token. */
export function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}

/** A table: header cells and rows of cells already HTML; `numeric` marks right-aligned columns by index. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], opts: { numeric?: readonly number[]; caption?: string } = {}): string {
  const numeric = new Set(opts.numeric ?? []);
  const caption = opts.caption === undefined ? '' : `<caption class="muted">${escapeHtml(opts.caption)}</caption>`;
  const head = `<thead><tr>${headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
  const body = rows.map((cells) => `<tr>${cells.map((c, i) => (numeric.has(i) ? `<td class="n">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`).join('');
  // Wide tables scroll on their own instead of pushing the page sideways on a narrow screen.
  return `<div class="scroll"><table>${caption}${head}<tbody>${body}</tbody></table></div>`;
}

/** A time as `2026-12-02 18:40:05 UTC` in a <time> element; anything else as escaped text. */
export function time(iso: string | undefined): string {
  if (iso === undefined) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeHtml(iso);
  const text = new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<time datetime="${escapeHtml(iso)}">${text}</time>`;
}

/** Any value from outside as text: strings as they are, everything else as JSON. */
export function value(v: unknown): string {
  if (v === undefined || v === null) return '<span class="muted">—</span>';
  return escapeHtml(typeof v === 'string' ? v : JSON.stringify(v));
}

/** A JSON object (event properties, step details) as escaped, wrapped text. */
export function jsonText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return `<code>${escapeHtml(JSON.stringify(v))}</code>`;
}
