import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { LOOPBACK_HOSTS, webHandler } from './http';
import { MailStore, type CaughtMail } from './store';

export type { CaughtMail } from './store';

/** Options for {@link startMailCatcher}. */
export interface MailCatcherOptions {
  /** Folder for the `.eml` files; created if missing. Mail already there is listed again. */
  dir: string;
  /** SMTP port; default 1025, 0 picks a free one. */
  smtpPort?: number;
  /** Web page and JSON API port; default 1080, 0 picks a free one. */
  httpPort?: number;
  /** Interface to bind both servers to; default 127.0.0.1. */
  host?: string;
  /** Largest message accepted, in bytes; default 10 MB. Bigger ones get SMTP 552. */
  maxMessageBytes?: number;
  /** Told about SMTP connection errors (a client that hangs up mid-command); they never stop the catcher. */
  onError?: (err: Error) => void;
}

/** A running mail catcher. */
export interface MailCatcher {
  smtpPort: number;
  httpPort: number;
  /** `smtp://<host>:<port>`, ready for `SMTP_URL`. */
  smtpUrl: string;
  /** `http://<host>:<port>/`, the inbox page. */
  webUrl: string;
  /** Every stored message, in arrival order. */
  messages(): CaughtMail[];
  /** Resolves with the first message (stored or yet to come) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (mail: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  /** Closes both servers; stored mail stays on disk. */
  stop(): Promise<void>;
}

/** A port the catcher could not listen on, with what to do about it. */
export class MailCatcherStartError extends Error {
  override readonly name = 'MailCatcherStartError';

  constructor(
    message: string,
    readonly service: 'smtp' | 'http',
    readonly port: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** Starts the local SMTP server that keeps every mail and the web page that shows it. */
export async function startMailCatcher(opts: MailCatcherOptions): Promise<MailCatcher> {
  const host = opts.host ?? '127.0.0.1';
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  const store = new MailStore(opts.dir);
  await store.open();

  const waiters = new Set<{ predicate: (mail: CaughtMail) => boolean; settle: (mail?: CaughtMail) => void }>();

  const smtp = new SMTPServer({
    authOptional: true,
    // Any credentials are fine: the catcher stands in for whatever relay SMTP_URL will name.
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    // Plain SMTP only: a local catcher has no certificate, and nodemailer would try STARTTLS.
    disabledCommands: ['STARTTLS'],
    size: maxBytes,
    logger: false,
    // Pooled clients may hold a connection open; don't let them delay Ctrl-C for 30 s.
    closeTimeout: 1_000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        // Past the limit smtp-server keeps reading (the client only listens after the final
        // dot) but there is no point holding on to the bytes.
        if (!stream.sizeExceeded) chunks.push(chunk);
      });
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          return callback(
            Object.assign(new Error(`Message exceeds the ${maxBytes} byte limit`), { responseCode: 552 }),
          );
        }
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        store
          .add(Buffer.concat(chunks), envelope)
          .then((mail) => {
            callback(null, `Caught as ${mail.id}`);
            for (const waiter of waiters) if (waiter.predicate(mail)) waiter.settle(mail);
          })
          .catch((err: Error) =>
            callback(Object.assign(new Error(`Could not store message: ${err.message}`), { responseCode: 451 })),
          );
      });
    },
  });

  // smtp-server re-emits every connection error on the server; unheard, that would crash the process.
  smtp.on('error', (err) => opts.onError?.(err));
  const smtpPort = await listen(smtp, opts.smtpPort ?? 1025, host, 'smtp');
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const smtpUrl = `smtp://${urlHost}:${smtpPort}`;

  const allowedHosts = new Set<string>();
  // Behind loopback only browsers on this machine can reach us, so the Host check is exact and
  // cheap; on a wider interface the reachable names are unknown, so it is left off.
  if (isLoopback(host)) for (const name of [...LOOPBACK_HOSTS, urlHost.toLowerCase()]) allowedHosts.add(name);
  const http = createServer(webHandler({ store, smtpUrl, allowedHosts }));
  let httpPort: number;
  try {
    httpPort = await listen(http, opts.httpPort ?? 1080, host, 'http');
  } catch (err) {
    await closeSmtp(smtp);
    throw err;
  }

  const webUrl = `http://${urlHost}:${httpPort}/`;
  let stopped: Promise<void> | undefined;
  return {
    smtpPort,
    httpPort,
    smtpUrl,
    webUrl,
    messages: () => store.list(),
    waitFor(predicate, timeoutMs = 5_000) {
      const found = store.list().find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<CaughtMail>((resolve, reject) => {
        const waiter = {
          predicate,
          settle: (mail?: CaughtMail) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            if (mail) resolve(mail);
            else reject(new Error('mail catcher stopped before a matching message arrived'));
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms (${store.list().length} caught so far; see ${webUrl})`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop() {
      stopped ??= (async () => {
        for (const waiter of [...waiters]) waiter.settle();
        http.closeAllConnections();
        await Promise.all([new Promise<void>((resolve) => http.close(() => resolve())), closeSmtp(smtp)]);
      })();
      return stopped;
    },
  };
}

function closeSmtp(smtp: SMTPServer): Promise<void> {
  return new Promise<void>((resolve) => smtp.close(() => resolve()));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

async function listen(server: Server | SMTPServer, port: number, host: string, service: 'smtp' | 'http') {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      // Named as the setting `unbroken start` reads, the form an operator changes.
      const option = service === 'smtp' ? 'UNBROKEN_EMBEDDED_SMTP_PORT' : 'UNBROKEN_EMBEDDED_MAIL_WEB_PORT';
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} is already in use (another mail catcher, MailHog or Mailpit?)`
          : err.message;
      reject(
        new MailCatcherStartError(
          `mail catcher: cannot listen for ${service.toUpperCase()} on ${host}:${port}: ${why}. ` +
            `Stop the other program or choose another port (${option}).`,
          service,
          port,
          err.code,
        ),
      );
    };
    // Both are EventEmitters; their typed `on` overloads just don't unify.
    const events = server as NodeJS.EventEmitter;
    events.once('error', onError);
    server.listen(port, host, () => {
      events.off('error', onError);
      resolve();
    });
  });
  const address = server instanceof SMTPServer ? server.server.address() : server.address();
  return (address as AddressInfo).port;
}
