import type { CaughtMail } from './store';

/**
 * Policy for every HTML page. Mail is untrusted: nothing may run a script or fetch from the
 * network. The message's HTML part inherits this policy through `srcdoc`, so inline styles must
 * stay allowed for it to look like the real thing; images are limited to inline `data:` ones,
 * which keeps tracking pixels and remote content from phoning home while you read.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The inbox: every message, newest first. */
export function listPage(mails: CaughtMail[], smtpUrl: string): string {
  const rows = [...mails]
    .reverse()
    .map(
      (m) => `<tr>
  <td class="time">${timeTag(m.receivedAt)}</td>
  <td>${escapeHtml(m.to || m.envelope.to.join(', '))}</td>
  <td><a href="/messages/${encodeURIComponent(m.id)}">${subjectText(m)}</a></td>
</tr>`,
    )
    .join('\n');
  const body = mails.length
    ? `<table class="list">
<thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : `<p class="empty">No mail yet. Anything sent to <code>${escapeHtml(smtpUrl)}</code> shows up here.</p>`;
  const count = `${mails.length} message${mails.length === 1 ? '' : 's'}`;
  // A meta refresh instead of script: new mail appears on its own while the CSP forbids scripts.
  return layout(
    'Mail catcher',
    `<header><h1>Mail catcher</h1><span class="muted">${count} · SMTP <code>${escapeHtml(smtpUrl)}</code></span></header>
${body}`,
    '<meta http-equiv="refresh" content="5">',
  );
}

/** One message: headers, text part, HTML part in a sandboxed frame, and its links. */
export function messagePage(mail: CaughtMail): string {
  const id = encodeURIComponent(mail.id);
  const summary: [string, string | undefined][] = [
    ['From', mail.from],
    ['To', mail.to],
    ['Cc', mail.cc],
    ['Subject', mail.subject],
    ['Date', mail.date],
    ['Received', mail.receivedAt],
    ['Envelope', `${mail.envelope.from || '<>'} → ${mail.envelope.to.join(', ')}`],
  ];
  const summaryRows = summary
    .filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '')
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  const headerRows = Object.entries(mail.headers)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');

  const sections: string[] = [];
  if (mail.html !== undefined) {
    // An empty `sandbox` gives the frame an opaque origin with scripts, forms, popups and top
    // navigation all disabled; `srcdoc` keeps the mail off any URL of ours.
    sections.push(`<section><h2>HTML</h2>
<iframe class="html" sandbox srcdoc="${escapeHtml(mail.html)}" title="HTML part"></iframe>
</section>`);
    const links = linksIn(mail.html);
    if (links.length) {
      // The sandbox keeps links in the frame from opening; list them so they can still be tried.
      sections.push(`<section><h2>Links</h2><ul class="links">
${links.map((href) => `<li><a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(href)}</a></li>`).join('\n')}
</ul></section>`);
    }
  }
  if (mail.text !== undefined) {
    sections.push(`<section><h2>Text</h2><pre>${escapeHtml(mail.text)}</pre></section>`);
  }
  sections.push(`<section><h2>Headers</h2><table class="headers">
${headerRows}
</table></section>`);

  return layout(
    mail.subject ?? '(no subject)',
    `<header><a href="/">← All mail</a><a href="/messages/${id}.eml" download>Download .eml</a></header>
<h1>${subjectText(mail)}</h1>
<table class="headers summary">
${summaryRows}
</table>
${sections.join('\n')}`,
  );
}

const MAX_LINKS = 50;

/** Distinct http(s) and mailto link targets in an HTML part, in order of appearance. */
export function linksIn(html: string): string[] {
  const found = new Set<string>();
  for (const match of html.matchAll(/\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    const href = decodeEntities((match[1] ?? match[2] ?? match[3] ?? '').trim());
    // Only schemes that cannot run code in our page; `javascript:` and friends are dropped.
    if (/^(https?:|mailto:)/i.test(href)) found.add(href);
    if (found.size >= MAX_LINKS) break;
  }
  return [...found];
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function subjectText(mail: CaughtMail): string {
  return mail.subject ? escapeHtml(mail.subject) : '<span class="muted">(no subject)</span>';
}

function timeTag(iso: string): string {
  // Rendered on the server without script, so show the machine's local time, as a developer expects.
  const d = new Date(iso);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const text =
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `<time datetime="${escapeHtml(iso)}">${text}</time>`;
}

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${head}
<title>${escapeHtml(title)} · Unbroken</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #fff; --head: #f6f8fa; --link: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --bg: #0d1117; --head: #161b22; --link: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 48px; }
header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin-bottom: 16px; }
h1 { font-size: 20px; margin: 0 0 12px; word-break: break-word; }
header h1 { margin: 0; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 28px 0 8px; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted, .empty { color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
.list th, .list td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
.list thead th { background: var(--head); font-weight: 600; font-size: 12px; color: var(--muted); }
.list tbody tr:hover { background: var(--head); }
.list td.time { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; width: 1%; }
.headers th, .headers td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
.headers th { width: 1%; white-space: nowrap; color: var(--muted); font-weight: 500; }
.headers td { font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.summary td { font: inherit; word-break: break-word; }
iframe.html { width: 100%; height: 600px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
pre { margin: 0; padding: 12px; background: var(--head); border: 1px solid var(--line); border-radius: 6px; white-space: pre-wrap; word-break: break-word; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.links { margin: 0; padding-left: 20px; word-break: break-all; }
`;
