import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message the test server accepted, parsed. */
export interface ReceivedMail {
  messageId?: string;
  /** `Name <address>` or `address`. */
  from: string;
  /** Comma-separated, same form as `from`. */
  to: string;
  subject?: string;
  text?: string;
  html?: string;
  /** Header values by lower-case name (first value when repeated). */
  headers: Record<string, string>;
  /** SMTP envelope, as the client gave it in MAIL FROM / RCPT TO. */
  envelope: { from: string; to: string[] };
}

/** A running local SMTP server for tests. */
export interface TestSmtpServer {
  port: number;
  /** `smtp://127.0.0.1:<port>`, ready for `smtpMailer` / SMTP_URL. */
  url: string;
  /** Accepted messages, in arrival order. */
  messages: ReceivedMail[];
  /** How many DATA commands arrived, accepted or refused. */
  attempts(): number;
  /** Resolves once at least `n` messages were accepted; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** Options: `failFirst` answers the first N DATA commands with 451; `rejectWith` answers every DATA with that code. */
export interface TestSmtpOptions {
  failFirst?: number;
  rejectWith?: number;
  /** Listen on this port (e.g. to bring a server back where a stopped one was); random when absent. */
  port?: number;
}

/** Starts an SMTP server on 127.0.0.1 (random port) that parses and keeps what it accepts. */
export async function startSmtpServer(opts: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let dataCommands = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      dataCommands += 1;
      const refuse = (code: number, text: string) => {
        // The client only reads the reply after sending the whole message: drain it first.
        stream.on('end', () => callback(Object.assign(new Error(text), { responseCode: code })));
        stream.resume();
      };
      if (opts.rejectWith !== undefined) return refuse(opts.rejectWith, 'Message rejected by test server');
      if (opts.failFirst !== undefined && dataCommands <= opts.failFirst) {
        return refuse(451, 'Temporary failure, try again later');
      }
      simpleParser(stream)
        .then((parsed) => {
          const headers: Record<string, string> = {};
          for (const line of parsed.headerLines) {
            const value = line.line.slice(line.line.indexOf(':') + 1).trim();
            if (!(line.key in headers)) headers[line.key] = value;
          }
          const mail: ReceivedMail = {
            from: addressText(parsed.from),
            to: addressText(parsed.to),
            headers,
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
          };
          if (parsed.messageId !== undefined) mail.messageId = parsed.messageId;
          if (parsed.subject !== undefined) mail.subject = parsed.subject;
          if (parsed.text !== undefined) mail.text = parsed.text;
          if (typeof parsed.html === 'string') mail.html = parsed.html;
          messages.push(mail);
          for (const waiter of waiters.filter((w) => messages.length >= w.n)) waiter.resolve();
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    attempts: () => dataCommands,
    waitFor(n, timeoutMs = 5_000) {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${n} message(s) within ${timeoutMs} ms, got ${messages.length}`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(messages);
          },
        });
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `Name <addr>` (or just `addr`) without mailparser's quoting, comma-separated. */
function addressText(address: AddressObject | AddressObject[] | undefined): string {
  if (!address) return '';
  return (Array.isArray(address) ? address : [address])
    .flatMap((a) => a.value)
    .map((v) => (v.name ? `${v.name} <${v.address ?? ''}>` : (v.address ?? '')))
    .join(', ');
}
