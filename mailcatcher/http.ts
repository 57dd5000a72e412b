import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listPage, messagePage, PAGE_CSP } from './pages';
import { MAIL_ID_PATTERN, type MailStore } from './store';

/** What the web handler needs from the running catcher. */
export interface WebContext {
  store: MailStore;
  smtpUrl: string;
  /** Host names a request may address; empty accepts any (the catcher listens beyond loopback). */
  allowedHosts: Set<string>;
}

/** Host names that always mean this machine. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** Builds the request handler for the catcher's web page and JSON API. */
export function webHandler(ctx: WebContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ctx, req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { code: 'internal', message: err.message });
      else res.destroy(err);
    });
  };
}

async function handle(ctx: WebContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // A page on any web site could point a DNS name at 127.0.0.1 and read mail through the
  // browser (DNS rebinding); the Host header it must send gives it away.
  if (ctx.allowedHosts.size > 0 && !ctx.allowedHosts.has(hostName(req.headers.host))) {
    return sendJson(res, 403, {
      code: 'forbidden_host',
      message: `Host "${req.headers.host ?? ''}" is not served here; open the catcher through localhost or 127.0.0.1.`,
    });
  }

  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://catcher').pathname;
  const read = method === 'GET' || method === 'HEAD';

  if (path === '/' && read) return sendHtml(res, listPage(ctx.store.list(), ctx.smtpUrl));

  if (path === '/api/messages') {
    if (read) return sendJson(res, 200, { messages: [...ctx.store.list()].reverse() });
    if (method === 'DELETE') return sendJson(res, 200, { deleted: await ctx.store.clear() });
    return methodNotAllowed(res, 'GET, DELETE');
  }

  const api = /^\/api\/messages\/([^/]+)$/.exec(path);
  if (api) {
    if (!read) return methodNotAllowed(res, 'GET');
    const mail = lookup(ctx, api[1]!);
    return mail ? sendJson(res, 200, mail) : notFound(res, `No message with id "${api[1]!}".`);
  }

  const page = /^\/messages\/([^/]+?)(\.eml)?$/.exec(path);
  if (page) {
    if (!read) return methodNotAllowed(res, 'GET');
    const mail = lookup(ctx, page[1]!);
    if (!mail) return notFound(res, `No message with id "${page[1]!}".`);
    if (!page[2]) return sendHtml(res, messagePage(mail));
    res.writeHead(200, {
      'content-type': 'message/rfc822',
      'content-length': mail.size,
      'content-disposition': `attachment; filename="${mail.id}.eml"`,
      'x-content-type-options': 'nosniff',
    });
    if (method === 'HEAD') return void res.end();
    createReadStream(ctx.store.file(mail.id))
      .on('error', (err) => res.destroy(err))
      .pipe(res);
    return;
  }

  return notFound(res, `Nothing at ${method} ${path}. Try GET / or GET /api/messages.`);
}

function lookup(ctx: WebContext, rawId: string) {
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return undefined;
  }
  return MAIL_ID_PATTERN.test(id) ? ctx.store.get(id) : undefined;
}

function hostName(host: string | undefined): string {
  if (!host) return '';
  // Strip the port: `[::1]:1080` → `[::1]`, `localhost:1080` → `localhost`.
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host.trim().toLowerCase());
  return m ? m[1]! : '';
}

function sendHtml(res: ServerResponse, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse, message: string): void {
  sendJson(res, 404, { code: 'not_found', message });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { code: 'method_not_allowed', message: `Use ${allow} here.` });
}
