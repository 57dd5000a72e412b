/**
 * The real parts every benchmark runs against: a Temporal dev server (or TEMPORAL_ADDRESS), an SMTP
 * sink, and a profile store (SQLite in a temp folder, or a fresh schema in DATABASE_URL's
 * PostgreSQL). Everything listens on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Pool } from 'pg';
import { SMTPServer } from 'smtp-server';
import { devServerExecutable } from '../../worker/binaries';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** The dev server's SQLite file, when we started the server; undefined for an external one. */
  dbFile?: string;
  description: string;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` from the project-local CLI with a SQLite file (so its size
 * can be measured), or uses TEMPORAL_ADDRESS when set.
 */
export async function startTemporal(tmp: string): Promise<TemporalTarget> {
  const external = process.env.TEMPORAL_ADDRESS?.trim();
  if (external) {
    return {
      address: external,
      namespace: process.env.TEMPORAL_NAMESPACE?.trim() || 'default',
      description: `external Temporal at ${external}`,
      stop: async () => undefined,
    };
  }
  const dbFile = path.join(tmp, 'temporal.db');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServerExecutable(), dbFilename: dbFile, ui: false, log: { format: 'pretty', level: 'error' } },
  });
  return {
    address: env.address,
    namespace: env.namespace ?? 'default',
    dbFile,
    description: 'Temporal dev server (project-local CLI, SQLite file)',
    stop: () => env.teardown(),
  };
}

/**
 * Bytes a SQLite database holds: used pages once the WAL is checkpointed into the main file.
 * File sizes alone would mostly measure the WAL, which grows to ~4 MB before SQLite folds it in.
 */
export function sqliteBytes(file: string): number {
  if (!fs.existsSync(file)) return 0;
  try {
    const db = new Database(file, { timeout: 2000 });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
      const pages = Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
      return pages * Number(db.pragma('page_size', { simple: true }));
    } finally {
      db.close();
    }
  } catch {
    // Another process holds the database too long (the dev server under load): file sizes.
    let total = 0;
    for (const suffix of ['', '-wal']) if (fs.existsSync(file + suffix)) total += fs.statSync(file + suffix).size;
    return total;
  }
}

/** An SMTP server that accepts every message as fast as it can and remembers who got what, when. */
export interface SmtpSink {
  url: string;
  /** Messages accepted so far. */
  count(): number;
  /** Resolves with the arrival time (performance.now()) of the first mail to `rcpt`. */
  arrival(rcpt: string, timeoutMs: number): Promise<number>;
  /** Forgets recorded arrivals (keeps the count). */
  clear(): void;
  stop(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  let accepted = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // No parsing: drain the body and note the envelope recipients once the message is complete.
    onData(stream, session, callback) {
      stream.on('end', () => {
        const at = performance.now();
        accepted += 1;
        for (const r of session.envelope.rcptTo) {
          if (!arrivals.has(r.address)) arrivals.set(r.address, at);
          waiters.get(r.address)?.(at);
          waiters.delete(r.address);
        }
        callback();
      });
      stream.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // Errors after start (a client resetting its connection) must not crash the benchmark.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    count: () => accepted,
    arrival(rcpt, timeoutMs) {
      const known = arrivals.get(rcpt);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(rcpt);
          reject(new Error(`no mail to ${rcpt} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(rcpt, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
    },
    clear: () => arrivals.clear(),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface StoreTarget {
  kind: 'sqlite' | 'postgres';
  /** A DATABASE_URL for openProfileStore, in this process or a child. */
  url: string;
  /** Bytes the store takes on disk now (SQLite files, or the schema's relations in PostgreSQL). */
  bytes(): Promise<number>;
  /** Drops what the benchmark created (the PostgreSQL schema; the SQLite file goes with tmp). */
  drop(): Promise<void>;
}

/** A new SQLite file under `tmp`. */
export function sqliteStore(tmp: string, name: string): StoreTarget {
  const file = path.join(tmp, `${name}.sqlite`);
  return { kind: 'sqlite', url: `sqlite:${file}`, bytes: async () => sqliteBytes(file), drop: async () => undefined };
}

/**
 * A fresh schema in the PostgreSQL that `baseUrl` names, selected through the connection's
 * search_path (as the store's own tests do), so benchmark rows never mix with real ones.
 */
export async function postgresStore(baseUrl: string): Promise<StoreTarget> {
  const schema = `unbroken_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ connectionString: baseUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    kind: 'postgres',
    url: url.toString(),
    async bytes() {
      const r = await admin.query<{ bytes: string | null }>(
        `SELECT SUM(pg_total_relation_size(c.oid))::text AS bytes FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
        [schema],
      );
      return Number(r.rows[0]?.bytes ?? 0);
    },
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** The PostgreSQL URL to benchmark against, when DATABASE_URL names one. */
export function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL?.trim();
  return url && /^postgres(ql)?:\/\//i.test(url) ? url : undefined;
}
