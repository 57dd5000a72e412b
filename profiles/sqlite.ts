import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProfileStoreError } from './errors';
import type { MessageRecord, Profile, ProfileChanges, ProfileStore, StepRecord } from './store';

/** One schema change. Versions only ever grow; a shipped migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The store's schema history, applied in order on open. Append new entries; never edit old ones. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'customers, profile changes, step records, messages',
    sql: `
      CREATE TABLE customers (
        id          TEXT PRIMARY KEY,
        email       TEXT,
        phone       TEXT,
        timezone    TEXT,
        traits      TEXT NOT NULL DEFAULT '{}',
        tags        TEXT NOT NULL DEFAULT '[]',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
      CREATE TABLE profile_changes (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        applied_at      TEXT NOT NULL
      );
      CREATE TABLE step_records (
        idempotency_key TEXT PRIMARY KEY,
        workflow_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        version         TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        kind            TEXT NOT NULL,
        at              TEXT NOT NULL,
        detail          TEXT
      );
      CREATE INDEX step_records_workflow ON step_records (workflow_id);
      CREATE INDEX step_records_customer ON step_records (customer_id);
      CREATE TABLE messages (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        template        TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped')),
        result          TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      );
      CREATE INDEX messages_customer ON messages (customer_id);
    `,
  },
];

/** Profile fields stored in their own columns rather than in the traits JSON. */
const SYSTEM_TEXT_FIELDS = ['email', 'phone', 'timezone'] as const;
type SystemTextField = (typeof SYSTEM_TEXT_FIELDS)[number];

interface CustomerRow {
  id: string;
  email: string | null;
  phone: string | null;
  timezone: string | null;
  traits: string;
  tags: string;
}

interface StepRow {
  idempotency_key: string;
  workflow_id: string;
  journey_id: string;
  version: string;
  customer_id: string;
  step_id: string;
  kind: string;
  at: string;
  detail: string | null;
}

interface MessageRow {
  idempotency_key: string;
  customer_id: string;
  journey_id: string;
  step_id: string;
  channel: string;
  template: string;
  status: MessageRecord['status'];
  result: string | null;
}

/** A customer while being changed: system fields apart from free-form traits. */
interface CustomerState {
  id: string;
  email?: string;
  phone?: string;
  timezone?: string;
  tags: string[];
  traits: Record<string, unknown>;
}

/**
 * The default profile store: one SQLite file (or memory), zero set-up.
 *
 * better-sqlite3 is synchronous; the async interface exists so a networked store fits the same
 * shape. Every multi-statement change runs in one transaction, so an idempotency key and the
 * change it guards commit together or not at all.
 */
export class SqliteProfileStore implements ProfileStore {
  private readonly db: Database.Database;
  private closed = false;

  /** Opens (creating if needed) the database at `file` and applies pending migrations. */
  constructor(readonly file: string) {
    const memory = file === ':memory:';
    if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    // WAL lets the worker read while another process (CLI, API) writes; busy_timeout makes a
    // writer wait for the lock instead of failing at once with SQLITE_BUSY.
    if (!memory) this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  /** Schema versions applied to this database, oldest first. */
  appliedMigrations(): number[] {
    return this.db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .pluck()
      .all() as number[];
  }

  private migrate(): void {
    const apply = this.db.transaction(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`);
      const applied = new Set(this.appliedMigrations());
      const newest = Math.max(0, ...applied);
      const known = migrations[migrations.length - 1]?.version ?? 0;
      if (newest > known) {
        throw new ProfileStoreError(
          'schema_too_new',
          `profile database ${this.file} has schema version ${newest}, but this Unbroken only knows up to ${known}: upgrade Unbroken or point it at another database`,
          { url: this.file },
        );
      }
      const record = this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        this.db.exec(migration.sql);
        record.run(migration.version, migration.name, new Date().toISOString());
      }
    });
    // IMMEDIATE takes the write lock up front, so two processes opening a fresh file at once
    // cannot both decide a migration is missing and apply it twice.
    apply.immediate();
  }

  async getProfile(id: string): Promise<Profile | undefined> {
    const state = this.load(id);
    return state && toProfile(state);
  }

  async identify(id: string, traits: Record<string, unknown>): Promise<Profile> {
    const run = this.db.transaction(() => {
      const now = new Date().toISOString();
      const existing = this.load(id);
      const state = existing ?? { id, tags: [], traits: {} };
      for (const [key, value] of Object.entries(traits)) {
        if (key === 'id' || value === undefined) continue;
        setField(state, key, value);
      }
      this.save(state, now, !existing);
      return toProfile(state);
    });
    return run.immediate();
  }

  async applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile> {
    const run = this.db.transaction(() => {
      const now = new Date().toISOString();
      const inserted = this.db
        .prepare('INSERT INTO profile_changes (idempotency_key, customer_id, applied_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
        .run(idempotencyKey, id, now).changes;
      const existing = this.load(id);
      if (inserted === 0) return toProfile(existing ?? { id, tags: [], traits: {} });

      const state = existing ?? { id, tags: [], traits: {} };
      for (const [key, value] of Object.entries(changes.set ?? {})) setField(state, key, value);
      for (const key of changes.unset ?? []) setField(state, key, null);
      for (const [key, amount] of Object.entries(changes.increment ?? {})) increment(state, key, amount);
      if (changes.addTags) state.tags = dedupe([...state.tags, ...changes.addTags]);
      if (changes.removeTags) {
        const remove = new Set(changes.removeTags);
        state.tags = state.tags.filter((tag) => !remove.has(tag));
      }
      this.save(state, now, !existing);
      return toProfile(state);
    });
    // A thrown ProfileStoreError rolls the transaction back, key included, so nothing is half-applied.
    return run.immediate();
  }

  async recordStep(record: StepRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO step_records (idempotency_key, workflow_id, journey_id, version, customer_id, step_id, kind, at, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(
        record.idempotencyKey,
        record.workflowId,
        record.journeyId,
        record.version,
        record.customerId,
        record.stepId,
        record.kind,
        record.at,
        record.detail === undefined ? null : JSON.stringify(record.detail),
      );
  }

  async stepsFor(workflowId: string): Promise<StepRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM step_records WHERE workflow_id = ? ORDER BY at, rowid')
      .all(workflowId) as StepRow[];
    return rows.map((row) => {
      const record: StepRecord = {
        idempotencyKey: row.idempotency_key,
        workflowId: row.workflow_id,
        journeyId: row.journey_id,
        version: row.version,
        customerId: row.customer_id,
        stepId: row.step_id,
        kind: row.kind,
        at: row.at,
      };
      if (row.detail !== null) record.detail = JSON.parse(row.detail) as Record<string, unknown>;
      return record;
    });
  }

  async claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }> {
    const run = this.db.transaction(() => {
      const now = new Date().toISOString();
      const inserted = this.db
        .prepare(
          `INSERT INTO messages (idempotency_key, customer_id, journey_id, step_id, channel, template, status, result, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          record.idempotencyKey,
          record.customerId,
          record.journeyId,
          record.stepId,
          record.channel,
          record.template,
          record.status,
          record.result === undefined ? null : JSON.stringify(record.result),
          now,
          now,
        ).changes;
      if (inserted === 1) return { claimed: true };
      const row = this.db.prepare('SELECT * FROM messages WHERE idempotency_key = ?').get(record.idempotencyKey) as MessageRow;
      return { claimed: false, existing: toMessage(row) };
    });
    return run.immediate();
  }

  async finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void> {
    this.db
      .prepare('UPDATE messages SET status = ?, result = ?, updated_at = ? WHERE idempotency_key = ?')
      .run(status, JSON.stringify(result), new Date().toISOString(), idempotencyKey);
  }

  async releaseMessage(idempotencyKey: string): Promise<void> {
    // Only an unfinished claim may be released: a finished message must stay finished.
    this.db.prepare("DELETE FROM messages WHERE idempotency_key = ? AND status = 'sending'").run(idempotencyKey);
  }

  async messagesFor(customerId: string): Promise<MessageRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM messages WHERE customer_id = ? ORDER BY created_at, rowid')
      .all(customerId) as MessageRow[];
    return rows.map(toMessage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private load(id: string): CustomerState | undefined {
    const row = this.db.prepare('SELECT * FROM customers WHERE id = ?').get(id) as CustomerRow | undefined;
    if (!row) return undefined;
    const state: CustomerState = {
      id: row.id,
      tags: JSON.parse(row.tags) as string[],
      traits: JSON.parse(row.traits) as Record<string, unknown>,
    };
    if (row.email !== null) state.email = row.email;
    if (row.phone !== null) state.phone = row.phone;
    if (row.timezone !== null) state.timezone = row.timezone;
    return state;
  }

  private save(state: CustomerState, now: string, isNew: boolean): void {
    const values = [
      state.email ?? null,
      state.phone ?? null,
      state.timezone ?? null,
      JSON.stringify(state.traits),
      JSON.stringify(state.tags),
    ];
    if (isNew) {
      this.db
        .prepare('INSERT INTO customers (id, email, phone, timezone, traits, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(state.id, ...values, now, now);
    } else {
      this.db
        .prepare('UPDATE customers SET email = ?, phone = ?, timezone = ?, traits = ?, tags = ?, updated_at = ? WHERE id = ?')
        .run(...values, now, state.id);
    }
  }
}

function isSystemTextField(key: string): key is SystemTextField {
  return (SYSTEM_TEXT_FIELDS as readonly string[]).includes(key);
}

/** Sets one field; `null` clears it (a trait is removed, `tags` becomes empty). */
function setField(state: CustomerState, key: string, value: unknown): void {
  if (key === 'id') {
    throw new ProfileStoreError('invalid_change', `customer ${state.id}: "id" cannot be changed`, {
      customerId: state.id,
      field: key,
    });
  }
  if (isSystemTextField(key)) {
    if (value === null || value === undefined || value === '') delete state[key];
    else if (typeof value === 'string') state[key] = value;
    else {
      throw new ProfileStoreError(
        'invalid_change',
        `customer ${state.id}: "${key}" must be a string, got ${describe(value)}`,
        { customerId: state.id, field: key },
      );
    }
    return;
  }
  if (key === 'tags') {
    if (value === null || value === undefined) state.tags = [];
    else if (Array.isArray(value) && value.every((tag) => typeof tag === 'string')) state.tags = dedupe(value);
    else {
      throw new ProfileStoreError(
        'invalid_change',
        `customer ${state.id}: "tags" must be a list of strings, got ${describe(value)}`,
        { customerId: state.id, field: key },
      );
    }
    return;
  }
  if (value === null || value === undefined) delete state.traits[key];
  else state.traits[key] = value;
}

function increment(state: CustomerState, key: string, amount: number): void {
  if (!Number.isFinite(amount)) {
    throw new ProfileStoreError('invalid_change', `customer ${state.id}: cannot increment "${key}" by ${amount}`, {
      customerId: state.id,
      field: key,
    });
  }
  const current = key === 'tags' || key === 'id' || isSystemTextField(key) ? state[key] : state.traits[key];
  if (current === undefined || current === null) {
    setField(state, key, amount);
  } else if (typeof current === 'number') {
    setField(state, key, current + amount);
  } else {
    throw new ProfileStoreError(
      'invalid_change',
      `customer ${state.id}: cannot increment "${key}", it holds ${describe(current)}, not a number (unset it first or use another trait)`,
      { customerId: state.id, field: key },
    );
  }
}

function toProfile(state: CustomerState): Profile {
  // Traits first, so a stray trait can never shadow a system field.
  const profile: Profile = { ...state.traits, id: state.id, tags: [...state.tags] };
  for (const key of SYSTEM_TEXT_FIELDS) {
    if (state[key] !== undefined) profile[key] = state[key];
    else delete profile[key];
  }
  return profile;
}

function toMessage(row: MessageRow): MessageRecord {
  const record: MessageRecord = {
    idempotencyKey: row.idempotency_key,
    customerId: row.customer_id,
    journeyId: row.journey_id,
    stepId: row.step_id,
    channel: row.channel,
    template: row.template,
    status: row.status,
  };
  if (row.result !== null) record.result = JSON.parse(row.result) as Record<string, unknown>;
  return record;
}

function dedupe(tags: string[]): string[] {
  return [...new Set(tags)];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? `the text ${JSON.stringify(value)}` : `a ${typeof value}`;
}
