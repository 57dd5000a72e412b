import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';

/** One message the mail catcher received, parsed from its `.eml` file. */
export interface CaughtMail {
  /** File stem, `<UTC time>-<random>`: sorts by arrival and names the message in URLs. */
  id: string;
  /** When the catcher accepted the message (ISO 8601). */
  receivedAt: string;
  messageId?: string;
  /** `Name <address>` or `address`. */
  from: string;
  /** Comma-separated, same form as `from`. */
  to: string;
  cc?: string;
  subject?: string;
  /** The message's own `Date` header (ISO 8601), when it has a valid one. */
  date?: string;
  text?: string;
  html?: string;
  /** Header values by lower-case name, unfolded (first value when repeated). */
  headers: Record<string, string>;
  /** SMTP envelope as the client gave it in MAIL FROM / RCPT TO. */
  envelope: { from: string; to: string[] };
  /** Size of the stored `.eml` file in bytes. */
  size: number;
}

/** SMTP envelope of an incoming message. */
export interface Envelope {
  from: string;
  to: string[];
}

/** Ids the store hands out; anything else in a URL is not a message. */
export const MAIL_ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

const EML_SUFFIX = '.eml';
const TMP_SUFFIX = '.eml.tmp';

/** Keeps caught mail as `.eml` files in one folder, with the parsed form in memory. */
export class MailStore {
  private readonly mails = new Map<string, CaughtMail>();
  // Ids must sort in arrival order even when two messages land in the same millisecond.
  private lastStamp = 0;

  constructor(readonly dir: string) {}

  /** Creates the folder and loads every message a previous run left there. */
  async open(): Promise<void> {
    // Mail holds personal data: the folder and every file are its owner's only.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(this.dir)).sort();
    for (const name of names) {
      // A `.tmp` file is a write that a crash interrupted: its SMTP client never got a 250.
      if (name.endsWith(TMP_SUFFIX)) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith(EML_SUFFIX)) continue;
      const id = name.slice(0, -EML_SUFFIX.length);
      if (!MAIL_ID_PATTERN.test(id)) continue;
      const raw = await readFile(join(this.dir, name));
      try {
        this.mails.set(id, await parseMail(id, raw));
      } catch (err) {
        throw new Error(
          `mail catcher: cannot parse ${join(this.dir, name)}: ${(err as Error).message}. ` +
            'Delete or move the file and start again.',
        );
      }
      this.lastStamp = Math.max(this.lastStamp, stampTime(id));
    }
  }

  /** Stores one message (raw bytes as received) and returns its parsed form. */
  async add(data: Buffer, envelope: Envelope): Promise<CaughtMail> {
    const id = this.nextId();
    // The envelope is not part of the message, yet a restart must still know it (Bcc recipients
    // appear nowhere else). Prepending trace headers is what a delivering MTA does anyway.
    const raw = Buffer.concat([Buffer.from(envelopeHeaders(envelope), 'utf8'), data]);
    const mail = await parseMail(id, raw);
    const file = this.file(id);
    // Write then rename, so a crash never leaves a half-written `.eml` for the next start to load.
    await writeFile(file + '.tmp', raw, { mode: 0o600 });
    await rename(file + '.tmp', file);
    this.mails.set(id, mail);
    return mail;
  }

  /** All messages in arrival order. */
  list(): CaughtMail[] {
    return [...this.mails.values()];
  }

  /** One message by id, or undefined. */
  get(id: string): CaughtMail | undefined {
    return this.mails.get(id);
  }

  /** The `.eml` path of a stored message. */
  file(id: string): string {
    return join(this.dir, id + EML_SUFFIX);
  }

  /** Deletes every message, files included; returns how many there were. */
  async clear(): Promise<number> {
    const ids = [...this.mails.keys()];
    this.mails.clear();
    await Promise.all(ids.map((id) => unlink(this.file(id)).catch(ignoreMissing)));
    return ids.length;
  }

  private nextId(): string {
    const stamp = Math.max(Date.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    const time = new Date(stamp).toISOString().replace(/[-:.]/g, '');
    return `${time}-${randomBytes(4).toString('hex')}`;
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

/** Milliseconds since the epoch encoded in an id such as `20250102T030405678Z-…`. */
function stampTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  if (!m) return 0;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

function envelopeHeaders(envelope: Envelope): string {
  // Addresses come from the SMTP client; keep them from breaking out of their header line.
  const clean = (address: string) => address.replace(/[\r\n<>,]/g, '');
  return (
    `Return-Path: <${clean(envelope.from)}>\r\n` +
    `Envelope-To: ${envelope.to.map(clean).join(', ')}\r\n`
  );
}

async function parseMail(id: string, raw: Buffer): Promise<CaughtMail> {
  const parsed = await simpleParser(raw);
  const headers: Record<string, string> = {};
  for (const line of parsed.headerLines) {
    const value = line.line
      .slice(line.line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    if (!(line.key in headers)) headers[line.key] = value;
  }
  const returnPath = headers['return-path'] ?? '';
  const envelopeTo = headers['envelope-to'];
  const mail: CaughtMail = {
    id,
    receivedAt: new Date(stampTime(id)).toISOString(),
    from: addressText(parsed.from),
    to: addressText(parsed.to),
    headers,
    envelope: {
      from: returnPath.replace(/^<|>$/g, ''),
      to: envelopeTo
        ? envelopeTo
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean)
        : [],
    },
    size: raw.length,
  };
  if (parsed.messageId !== undefined) mail.messageId = parsed.messageId;
  const cc = addressText(parsed.cc);
  if (cc) mail.cc = cc;
  if (parsed.subject !== undefined) mail.subject = parsed.subject;
  if (parsed.date !== undefined && !Number.isNaN(parsed.date.getTime())) mail.date = parsed.date.toISOString();
  if (parsed.text !== undefined) mail.text = parsed.text;
  if (typeof parsed.html === 'string') mail.html = parsed.html;
  return mail;
}

/** `Name <addr>` (or just `addr`) without mailparser's quoting, comma-separated. */
function addressText(address: AddressObject | AddressObject[] | undefined): string {
  if (!address) return '';
  return (Array.isArray(address) ? address : [address])
    .flatMap((a) => a.value)
    .map((v) => (v.name ? `${v.name} <${v.address ?? ''}>` : (v.address ?? '')))
    .join(', ');
}
