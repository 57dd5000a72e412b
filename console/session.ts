/**
 * Console sessions: a random id in an HttpOnly cookie, kept in this process's memory with its CSRF
 * token. In memory rather than a signed cookie so that logging out, or the session expiring, really
 * ends it (a copied cookie stops working at once), and nothing new must be kept secret on disk;
 * the cost is that restarting `unbroken start` logs everyone out.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a session lasts after login (not extended by use). */
export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;
/** Sessions kept at most; the oldest is dropped first (a flood of logins cannot fill memory). */
const MAX_SESSIONS = 1000;

/** One logged-in browser. */
export interface Session {
  id: string;
  /** The token every form of this session posts back (`csrf`). */
  csrf: string;
  expiresAt: number;
}

/** The sessions of one console. */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly ttlMs = DEFAULT_SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session after a correct admin key. */
  create(): Session {
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value as string);
    const session = { id: token(), csrf: token(), expiresAt: this.now() + this.ttlMs };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session with this id, if any; an expired one is forgotten. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.byId.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    this.byId.delete(id);
  }
}

function token(): string {
  return randomBytes(32).toString('base64url');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Whether two secrets are equal, compared in constant time over their digests (length does not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
