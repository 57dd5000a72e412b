import nodemailer from 'nodemailer';
import { parseEmailAddress } from '../core/addresses';
import type { Mailer, OutgoingEmail } from './types';

/** A send the mail server refused or could not take; `permanent` says whether a retry can help. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';

  constructor(
    message: string,
    readonly permanent: boolean,
    /** SMTP reply code or HTTP status, when the server answered. */
    readonly status?: number,
    /** Transport error code, e.g. nodemailer's `EENVELOPE` or `ECONNECTION`. */
    readonly code?: string,
    /** SMTP command the server refused (`RCPT TO`, `DATA`, …), when it refused one. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Sends through an SMTP server named by a URL such as `smtp://localhost:1025` or `smtps://user:pass@host:465`. */
export function smtpMailer(url: string): Mailer {
  const transport = nodemailer.createTransport({
    url,
    // One connection per send keeps the mailer stateless across worker restarts; pooling pays
    // off only at volumes where a relay is configured anyway.
    pool: false,
    // Stay well inside the send activity's 30 s start-to-close timeout, so a hung server ends
    // as a classified, retryable error rather than an activity timeout.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as nodemailer.TransportOptions);

  return {
    async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
      const envelope = envelopeOf(mail);
      try {
        const info = (await transport.sendMail({
          from: mail.from,
          to: envelope.to[0],
          envelope,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          headers: mail.headers,
        })) as { messageId?: string };
        return { messageId: info.messageId ?? mail.messageId };
      } catch (err) {
        throw classifySmtpError(err);
      }
    },
  };
}

/**
 * The SMTP envelope of a mail: exactly one recipient and one sender, both canonical. The send
 * already parsed the recipient; parsing again here keeps any other caller of the mailer from
 * handing nodemailer a list or a header line, which it would otherwise split into several
 * recipients. Not exactly one address is a permanent failure: no retry can fix it.
 */
export function envelopeOf(mail: Pick<OutgoingEmail, 'from' | 'to'>): { from: string; to: [string] } {
  const to = parseEmailAddress(mail.to);
  if (!to.ok) throw new DeliveryError(`SMTP send refused before connecting: the recipient ${to.reason}`, true, undefined, 'EADDRESS');
  const from = parseEmailAddress(mail.from);
  if (!from.ok) throw new DeliveryError(`SMTP send refused before connecting: the From address ${from.reason}`, true, undefined, 'EADDRESS');
  return { from: from.address, to: [to.address] };
}

/** Records mails instead of sending them: for simulation and tests. */
export function captureMailer(): Mailer & { sent: OutgoingEmail[] } {
  const sent: OutgoingEmail[] = [];
  return {
    sent,
    async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
      sent.push({ ...mail });
      return { messageId: mail.messageId };
    },
  };
}

/**
 * Decides whether a failed SMTP send may succeed later. A 5xx reply (mailbox unknown, message
 * rejected) and an envelope the server never accepted are permanent; 4xx replies (greylisting,
 * full queue) and network trouble are transient. Authentication failures stay transient even
 * though they carry 5xx codes: they are configuration problems an operator can fix while the
 * retries run, and the customer should not lose the message for it.
 */
export function classifySmtpError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as { message?: string; code?: string; responseCode?: number; response?: string; command?: string };
  const message = `SMTP send failed: ${e.response ?? e.message ?? String(err)}`;
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e.command === 'string' ? e.command : undefined;
  if (e.code === 'EAUTH') return new DeliveryError(message, false, status, e.code, command);
  if (status !== undefined) return new DeliveryError(message, status >= 500, status, e.code, command);
  if (e.code === 'EENVELOPE') return new DeliveryError(message, true, status, e.code, command);
  return new DeliveryError(message, false, status, e.code, command);
}

/** SMTP replies to RCPT TO that mean the mailbox does not exist or cannot take mail (RFC 5321). */
const HARD_BOUNCE_CODES: ReadonlySet<number> = new Set([550, 551, 553]);

/**
 * Whether a failed send is a hard bounce: the server refused the recipient itself (RCPT TO with
 * 550/551/553), so the address must never be mailed again. A refused DATA (content, size, policy)
 * says nothing about the mailbox and is not one.
 */
export function isHardBounce(err: unknown): boolean {
  return (
    err instanceof DeliveryError &&
    err.permanent &&
    err.command === 'RCPT TO' &&
    err.status !== undefined &&
    HARD_BOUNCE_CODES.has(err.status)
  );
}
