/**
 * The store's schema history, written once for both databases, and the one routine that applies
 * it. Column types the databases spell differently are words (see dialect.ts): JSON is TEXT in
 * SQLite and JSONB in PostgreSQL, times TEXT (ISO-8601 UTC) and TIMESTAMPTZ, booleans INTEGER and
 * BOOLEAN; PostgreSQL tables that need insertion order carry a `seq` identity column where SQLite
 * has its rowid. Rendered per dialect, each version is exactly the schema databases already hold.
 */
import { ProfileStoreError } from '../errors';
import { recountSteps } from './counters';
import { join, render, sql, word, type Dialect, type Sql } from './dialect';
import type { Row } from './driver';

/** One schema change as it runs on one database. Versions only ever grow; a shipped migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const JSON_TYPE = word('json');
const TIME = word('time');
const BOOL = word('bool');
const FALSE = word('false');
const SEQ = word('seqColumn');
const SEQ_KEY = word('seqKey');

/** The schema history, applied in order on open. Append new entries; never edit old ones. */
const HISTORY: readonly { version: number; name: string; sql: Sql }[] = [
  {
    version: 1,
    name: 'customers, profile changes, step records, messages',
    sql: sql`
      CREATE TABLE customers (
        id          TEXT PRIMARY KEY,
        email       TEXT,
        phone       TEXT,
        timezone    TEXT,
        traits      ${JSON_TYPE} NOT NULL DEFAULT '{}',
        tags        ${JSON_TYPE} NOT NULL DEFAULT '[]',
        created_at  ${TIME} NOT NULL,
        updated_at  ${TIME} NOT NULL
      );
      CREATE TABLE profile_changes (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        applied_at      ${TIME} NOT NULL
      );
      CREATE TABLE step_records (
        idempotency_key TEXT PRIMARY KEY,${SEQ}
        workflow_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        version         TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        kind            TEXT NOT NULL,
        at              ${TIME} NOT NULL,
        detail          ${JSON_TYPE}
      );
      CREATE INDEX step_records_workflow ON step_records (workflow_id);
      CREATE INDEX step_records_customer ON step_records (customer_id);
      CREATE TABLE messages (
        idempotency_key TEXT PRIMARY KEY,${SEQ}
        customer_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        template        TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped')),
        result          ${JSON_TYPE},
        created_at      ${TIME} NOT NULL,
        updated_at      ${TIME} NOT NULL
      );
      CREATE INDEX messages_customer ON messages (customer_id);
    `,
  },
  {
    version: 2,
    name: 'live system: events, identity links, deployed journeys, enrolments',
    sql: sql`
      CREATE TABLE events (
        message_id   TEXT PRIMARY KEY,${SEQ}
        type         TEXT NOT NULL CHECK (type IN ('track', 'identify')),
        customer_id  TEXT NOT NULL,
        user_id      TEXT,
        anonymous_id TEXT,
        event        TEXT,
        properties   ${JSON_TYPE},
        traits       ${JSON_TYPE},
        context      ${JSON_TYPE},
        timestamp    ${TIME} NOT NULL,
        received_at  ${TIME} NOT NULL,
        routed_at    ${TIME}
      );
      CREATE INDEX events_customer ON events (customer_id);
      CREATE TABLE identity_links (
        anonymous_id TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL,
        linked_at    ${TIME} NOT NULL
      );
      CREATE INDEX identity_links_user ON identity_links (user_id);
      CREATE TABLE journeys (
        journey_id  TEXT PRIMARY KEY,
        version     TEXT NOT NULL,
        paused      ${BOOL} NOT NULL DEFAULT ${FALSE},
        deployed_at ${TIME} NOT NULL
      );
      CREATE TABLE journey_versions (
        journey_id  TEXT NOT NULL,
        version     TEXT NOT NULL,
        plan        ${JSON_TYPE} NOT NULL,
        deployed_at ${TIME} NOT NULL,
        PRIMARY KEY (journey_id, version)
      );
      CREATE TABLE enrolments (
        workflow_id  TEXT PRIMARY KEY,${SEQ}
        journey_id   TEXT NOT NULL,
        customer_id  TEXT NOT NULL,
        entry        INTEGER NOT NULL,
        version      TEXT NOT NULL,
        entered_at   ${TIME} NOT NULL,
        input        ${JSON_TYPE} NOT NULL DEFAULT 'null',
        ended_at     ${TIME},
        outcome      TEXT,
        current_step TEXT,
        UNIQUE (journey_id, customer_id, entry)
      );
      CREATE INDEX enrolments_customer ON enrolments (customer_id);
      -- The last line of defence against a customer being inside a journey twice.
      CREATE UNIQUE INDEX enrolments_one_active ON enrolments (journey_id, customer_id) WHERE ended_at IS NULL;
      CREATE INDEX step_records_journey ON step_records (journey_id, kind);
    `,
  },
  {
    version: 3,
    name: 'delivery: subscriptions, suppressions, send slots for frequency caps',
    sql: sql`
      CREATE TABLE subscriptions (
        customer_id TEXT NOT NULL,
        channel     TEXT NOT NULL,
        category    TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
        source      TEXT NOT NULL,
        updated_at  ${TIME} NOT NULL,
        PRIMARY KEY (customer_id, channel, category)
      );
      -- Addresses are stored normalised (trimmed, lower-case) so one mailbox is one row.
      CREATE TABLE suppressions (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        reason  TEXT NOT NULL,
        at      ${TIME} NOT NULL,
        PRIMARY KEY (channel, address)
      );
      -- One row per send that counts against frequency caps.
      CREATE TABLE send_slots (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        channel         TEXT NOT NULL,
        category        TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        at              ${TIME} NOT NULL
      );
      CREATE INDEX send_slots_window ON send_slots (customer_id, channel, category, at);
    `,
  },
  {
    version: 4,
    name: 'trigger keys: one active run per journey, customer and key; send slots remember the key',
    sql: sql`
      -- Runs of journeys without trigger.key (all runs before this version) keep the empty key, so
      -- their "one active run" rule is exactly the old one. NOT NULL: the unique index below must
      -- see two keyless runs as equal, which it would not for NULLs.
      ALTER TABLE enrolments ADD COLUMN instance_key TEXT NOT NULL DEFAULT '';
      DROP INDEX enrolments_one_active;
      CREATE UNIQUE INDEX enrolments_one_active_per_key ON enrolments (journey_id, customer_id, instance_key) WHERE ended_at IS NULL;
      ALTER TABLE send_slots ADD COLUMN instance_key TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 5,
    name: 'short unsubscribe codes for sms links',
    sql: sql`
      -- The code is the credential of a /u/<code> link, so unlike a signed token it must be
      -- stored. One code per send and channel: a retried send finds its code again.
      CREATE TABLE unsubscribe_codes (
        code            TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        channel         TEXT NOT NULL,
        category        TEXT NOT NULL,
        created_at      ${TIME} NOT NULL,
        expires_at      ${TIME} NOT NULL,
        UNIQUE (idempotency_key, channel)
      );
    `,
  },
  {
    version: 6,
    name: 'routing leases: stored events whose routing failed are routed again',
    sql: sql`
      -- Until when one router (an API request or the re-driver) owns routing the event; NULL or
      -- past: nobody does, and the re-driver may take an unrouted event once it is old enough.
      ALTER TABLE events ADD COLUMN routing_lease_until ${TIME};
      -- The re-driver and the routing backlog look at unrouted events only: a few among millions.
      CREATE INDEX events_unrouted ON events (received_at) WHERE routed_at IS NULL;
    `,
  },
  {
    version: 7,
    name: 'surveys: every survey asked (fatigue and response rates) and every answer',
    sql: sql`
      -- One row per survey message that went out (keyed by its send), so the fatigue rule can
      -- count a customer's surveys across journeys and feedback can compute response rates.
      CREATE TABLE survey_asks (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        survey_id       TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        workflow_id     TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        asked_at        ${TIME} NOT NULL
      );
      CREATE INDEX survey_asks_customer ON survey_asks (customer_id, asked_at);
      CREATE INDEX survey_asks_survey ON survey_asks (survey_id, asked_at);
      -- One answer per survey and run: a reminder of the same survey shares its answer. The
      -- score may change within the grace period after the first answer, then it stands.
      CREATE TABLE survey_answers (
        workflow_id       TEXT NOT NULL,
        survey_id         TEXT NOT NULL,
        customer_id       TEXT NOT NULL,
        journey_id        TEXT NOT NULL,
        step_id           TEXT NOT NULL,
        scale             TEXT NOT NULL,
        score             INTEGER NOT NULL,
        comment           TEXT,
        first_answered_at ${TIME} NOT NULL,
        answered_at       ${TIME} NOT NULL,
        PRIMARY KEY (workflow_id, survey_id)
      );
      CREATE INDEX survey_answers_survey ON survey_answers (survey_id, first_answered_at);
    `,
  },
  {
    version: 8,
    name: 'trust: consent history, dead-lettered events, forgotten addresses',
    sql: sql`
      -- Every statement about a customer's consent, in the order it happened: when the customer
      -- said it (happened_at, the caller's clamped timestamp) and when it reached us (recorded_at),
      -- and who carried it (source: identify, unsubscribe_link, suppression, api, import …).
      -- subscriptions keeps the state as it stands; this keeps how it got there.
      CREATE TABLE consent_changes (
        change_id   TEXT PRIMARY KEY,${SEQ}
        customer_id TEXT NOT NULL,
        channel     TEXT NOT NULL,
        category    TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
        source      TEXT NOT NULL,
        applied     ${BOOL} NOT NULL,
        happened_at ${TIME} NOT NULL,
        recorded_at ${TIME} NOT NULL
      );
      CREATE INDEX consent_changes_customer ON consent_changes (customer_id, happened_at);
      -- Routing attempts of an event, and when it was set aside after the last one failed: a
      -- dead-lettered event leaves the routing backlog so the customer's next events flow.
      ALTER TABLE events ADD COLUMN route_attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE events ADD COLUMN dead_at ${TIME};
      ALTER TABLE events ADD COLUMN dead_reason TEXT;
      CREATE INDEX events_dead ON events (dead_at) WHERE dead_at IS NOT NULL;
      -- A forgotten customer's addresses, kept only as a keyed hash (HMAC with the server's
      -- secret), so a later import of the same address is not mailed without new consent.
      CREATE TABLE forgotten_addresses (
        channel      TEXT NOT NULL,
        address_hash TEXT NOT NULL,
        forgotten_at ${TIME} NOT NULL,
        PRIMARY KEY (channel, address_hash)
      );
    `,
  },
  {
    version: 9,
    name: 'audiences: event aggregates per customer and event name',
    sql: sql`
      -- Audiences read counts and first/last times of one event name per customer, by the event's
      -- own timestamp (events.order_completed.last_at, .count_7d): one index range per customer.
      CREATE INDEX events_customer_event ON events (customer_id, event, timestamp);
    `,
  },
  {
    version: 10,
    name: 'customers found by address',
    sql: sql`
      -- The console's customer search and the privacy requests find a person by email or phone
      -- (stored canonical since version 8's door checks); without these each search scans customers.
      CREATE INDEX customers_email ON customers (email);
      CREATE INDEX customers_phone ON customers (phone);
    `,
  },
  {
    version: 11,
    name: 'messages listed newest first, by journey, channel and result',
    sql: sql`
      -- The console's messages page reads the latest sends, optionally of one journey, channel or
      -- result, a page at a time from a (created_at, seq) cursor: each filter seeks its own index
      -- instead of walking every message ever sent.
      CREATE INDEX messages_recent ON messages (created_at${SEQ_KEY});
      CREATE INDEX messages_journey_recent ON messages (journey_id, created_at${SEQ_KEY});
      CREATE INDEX messages_channel_recent ON messages (channel, created_at${SEQ_KEY});
      CREATE INDEX messages_status_recent ON messages (status, created_at${SEQ_KEY});
    `,
  },
  {
    version: 12,
    name: 'console pages: journey numbers, split arms and a customer\'s events read from indexes',
    sql: sql`
      -- The journeys page and a journey's page count runs by journey and outcome, entered and ended
      -- when: covering, so they read this index instead of every run's row (input JSON and all).
      CREATE INDEX enrolments_journey_outcome ON enrolments (journey_id, outcome, entered_at, ended_at);
      -- A journey's page counts, per step, the runs that passed it: covering, in step order.
      CREATE INDEX step_records_journey_step ON step_records (journey_id, step_id, workflow_id, kind);
      -- Sends, skips and split arms counted per journey, kind and step (the journeys page, a
      -- journey's page, split results) from the index alone. It replaces (journey_id, kind), its
      -- prefix, for which SQLite (no statistics) preferred the index above: every record of the journey.
      DROP INDEX step_records_journey;
      CREATE INDEX step_records_journey_kind ON step_records (journey_id, kind, step_id, (detail ->> 'variant'), workflow_id);
      -- A customer's page (and export) reads their events by customer, user or anonymous id: one
      -- index per column, so the OR is a union of seeks rather than a scan of every event.
      CREATE INDEX events_user ON events (user_id);
      CREATE INDEX events_anonymous ON events (anonymous_id);
    `,
  },
  {
    version: 13,
    name: 'console counters: runs past each step and split arms, counted as records are written',
    sql: sql`
      -- A journey's page read the runs past each step as COUNT(DISTINCT workflow_id) over all of
      -- the journey's records, and a split's arms by joining its records to their runs: both grow
      -- with the history. The store now counts them as it writes a record (sql/counters.ts), and
      -- the page reads a few rows per step.
      CREATE TABLE step_passes (
        journey_id TEXT NOT NULL,
        version    TEXT NOT NULL,
        step_id    TEXT NOT NULL,
        runs       INTEGER NOT NULL,
        PRIMARY KEY (journey_id, version, step_id)
      );
      CREATE TABLE split_arms (
        journey_id TEXT NOT NULL,
        version    TEXT NOT NULL,
        step_id    TEXT NOT NULL,
        variant    TEXT NOT NULL,
        entered    INTEGER NOT NULL,
        converted  INTEGER NOT NULL,
        PRIMARY KEY (journey_id, version, step_id, variant)
      );
      -- The history so far, counted once (the same statements an erasure recounts with).
      ${join(recountSteps(), ';\n')};
      -- Version 12's index for that count: nothing reads it now, and every record written paid for it.
      DROP INDEX step_records_journey_step;
    `,
  },
  {
    version: 14,
    name: 'audiences: track events per customer and event name, read from the index alone',
    sql: sql`
      -- Every read of version 9's index also asks type = 'track', which the index did not hold:
      -- each matching event was fetched from the table to check it, and the audience sweep's
      -- listing of customers with events read the table for every event. Holding only track
      -- events, the same columns answer the aggregates and that listing from the index alone
      -- (a 1,000,000-customer sweep measured in bench/README.md), at no more cost per event written.
      DROP INDEX events_customer_event;
      CREATE INDEX events_track_customer_event ON events (customer_id, event, timestamp) WHERE type = 'track';
    `,
  },
  {
    version: 15,
    name: 'broadcasts: how far each broadcast and schedule firing has come, for unbroken stats',
    sql: sql`
      CREATE TABLE broadcasts (
        journey_id  TEXT NOT NULL,
        began_at    ${TIME} NOT NULL,
        occurrence  TEXT,
        matched     INTEGER NOT NULL,
        entered     INTEGER NOT NULL,
        finished_at ${TIME},
        stopped     TEXT,
        updated_at  ${TIME} NOT NULL,
        PRIMARY KEY (journey_id, began_at)
      );
    `,
  },
  {
    version: 16,
    name: 'routing: claims read the customers they need, not the whole backlog',
    sql: sql`
      -- A router loop's claim leaves out customers another loop is routing. Found among all unrouted
      -- events, that cost a read of the whole backlog per page (bench/README.md: 97 s a page at
      -- 80,000 waiting events on PostgreSQL before statistics); the leased events are a page or two.
      CREATE INDEX events_leased ON events (customer_id) WHERE routed_at IS NULL AND routing_lease_until IS NOT NULL;
      -- Customers with unrouted events, one index probe each, so customers beyond the oldest
      -- events take turns however many events one customer holds.
      CREATE INDEX events_unrouted_customer ON events (customer_id) WHERE routed_at IS NULL;
    `,
  },
];

/** The schema history as `dialect` runs it. */
export function migrationsFor(dialect: Dialect): readonly Migration[] {
  return HISTORY.map((m) => ({ version: m.version, name: m.name, sql: render(m.sql, dialect).text }));
}

/** Reads the applied versions, oldest first. */
export const APPLIED_VERSIONS = sql`SELECT version FROM schema_migrations ORDER BY version`;

/** A step of migrating: a whole script (several statements, no parameters) or one statement whose rows come back. */
export type MigrationStep = { script: string } | { query: Sql };

/**
 * Brings a database up to date, as a generator of steps the driver runs inside its migration
 * transaction (SQLite: IMMEDIATE; PostgreSQL: an advisory lock), feeding back each query's rows.
 * A generator because SQLite migrates synchronously inside its constructor and PostgreSQL
 * asynchronously, and both must follow this one routine. `where` names the database in errors.
 */
export function* migrationSteps(dialect: Dialect, where: string): Generator<MigrationStep, void, Row[]> {
  const list = migrationsFor(dialect);
  yield {
    script: render(
      sql`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at ${TIME} NOT NULL
      )`,
      dialect,
    ).text,
  };
  const applied = new Set((yield { query: APPLIED_VERSIONS }).map((row) => Number(row.version)));
  const newest = Math.max(0, ...applied);
  const known = list[list.length - 1]?.version ?? 0;
  if (newest > known) {
    throw new ProfileStoreError(
      'schema_too_new',
      `profile database ${where} has schema version ${newest}, but this Unbroken only knows up to ${known}: upgrade Unbroken or point it at another database`,
      { url: where },
    );
  }
  for (const migration of list) {
    if (applied.has(migration.version)) continue;
    yield { script: migration.sql };
    yield {
      query: sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, ${migration.name}, ${new Date().toISOString()})`,
    };
  }
}
