/**
 * Erasure, export and retention over the SQL store (both databases): what privacy/ asks of the
 * store, kept beside store.ts so the SqlStore methods stay one line each. Everything about one
 * person is read or erased through the same identity group the rest of the store uses: the
 * canonical id and every anonymous id linked to it.
 */
import { randomBytes } from 'node:crypto';
import { isoTime, normaliseAddress, toProfile } from '../rules';
import type {
  CustomerData,
  ForgetCounts,
  ForgetRequest,
  ForgetResult,
  RetentionSweep,
} from '../store';
import { recountSteps } from './counters';
import { join, json, list, raw, sql, typed, word, type Dialect, type Sql } from './dialect';
import { first, type Row, type Runner, type Transaction } from './driver';
import { columns, CUSTOMER, ENROLMENT, EVENT, fromRow, MESSAGE, STEP, SURVEY_ANSWER, SURVEY_ASK, type Shape } from './rows';

const SEQ = word('seq');

/** Channels whose addresses belong to a customer (a webhook URL is the operator's). */
const ADDRESS_CHANNELS = ['email', 'sms'] as const;

/** Fields a message result keeps once its rendered content is erased: enough to answer a retried send and to count. */
const KEPT_RESULT_FIELDS = ['status', 'channel', 'template', 'reason', 'messageId', 'passedOver'] as const;

const IDENTITY: Shape<CustomerData['identities'][number]> = { fields: ['anonymousId', 'userId', 'linkedAt'] };
const SUBSCRIPTION: Shape<CustomerData['subscriptions'][number]> = { fields: ['channel', 'category', 'status', 'source', 'updatedAt'] };
const CONSENT_CHANGE: Shape<CustomerData['consentChanges'][number]> = {
  fields: ['channel', 'category', 'status', 'source', 'applied', 'happenedAt', 'recordedAt'],
  bool: ['applied'],
};
const SUPPRESSION: Shape<CustomerData['suppressions'][number]> = { fields: ['channel', 'address', 'reason', 'at'] };

/** The canonical id of `id` and every anonymous id linked to it, canonical first. */
async function identityGroup(db: Runner, id: string): Promise<string[]> {
  const link = await first(db, sql`SELECT user_id FROM identity_links WHERE anonymous_id = ${id}`);
  const customer = (link?.user_id as string | undefined) ?? id;
  const linked = await db.all(sql`SELECT anonymous_id FROM identity_links WHERE user_id = ${customer} ORDER BY anonymous_id`);
  return [customer, ...linked.map((row) => String(row.anonymous_id)).filter((other) => other !== customer)];
}

/** The address as the suppression list stores it, or undefined for text that is no address. */
function canonicalAddress(channel: string, address: string): string | undefined {
  try {
    const canonical = normaliseAddress(channel, address);
    return canonical === '' ? undefined : canonical;
  } catch {
    return undefined;
  }
}

/**
 * Every address the store has seen for the group, per channel: the profiles' email and phone,
 * those given in identify traits (an address changed since), and the recipients of messages.
 */
async function addressesOf(db: Runner, ids: readonly string[], decodeJson: (value: unknown) => unknown): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>(ADDRESS_CHANNELS.map((channel) => [channel, new Set<string>()]));
  const add = (channel: string, value: unknown) => {
    if (typeof value !== 'string') return;
    const canonical = canonicalAddress(channel, value);
    if (canonical !== undefined) found.get(channel)?.add(canonical);
  };
  for (const row of await db.all(sql`SELECT email, phone FROM customers WHERE id IN (${list(ids)})`)) {
    add('email', row.email);
    add('sms', row.phone);
  }
  const identifies = await db.all(sql`SELECT traits FROM events WHERE type = 'identify' AND customer_id IN (${list(ids)})`);
  for (const row of identifies) {
    const traits = decodeJson(row.traits) as Record<string, unknown> | null;
    add('email', traits?.email);
    add('sms', traits?.phone);
  }
  for (const row of await db.all(sql`SELECT channel, result FROM messages WHERE customer_id IN (${list(ids)})`)) {
    const result = decodeJson(row.result) as Record<string, unknown> | null;
    add(String(row.channel), result?.to);
  }
  return found;
}

/** Step details reduced to what the journey numbers read: the reason of a skip, nothing else. */
function strippedDetail(detail: unknown): Record<string, unknown> | undefined {
  const reason = (detail as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' ? { reason } : undefined;
}

/** See PrivacyStore.forgetCustomer. Runs inside the caller's transaction. */
export async function forgetCustomer(tx: Transaction, dialect: Dialect, request: ForgetRequest): Promise<ForgetResult> {
  const at = isoTime(request.at, 'forget time');
  const decode = (value: unknown) => dialect.decodeJson(value);
  // Locked like every profile write: the id as given, then its canonical id (see SqlStore.lockCustomer).
  await tx.lock('customer', request.id);
  const ids = await identityGroup(tx, request.id);
  if (ids[0] !== request.id) await tx.lock('customer', ids[0]);
  const group = list(ids);

  const addresses = await addressesOf(tx, ids, decode);
  const forgottenAddresses: Record<string, number> = {};
  let suppressions = 0;
  for (const [channel, set] of addresses) {
    const hashes = new Set([...set].map((address) => request.hashAddress(channel, address)));
    for (const hash of hashes) {
      // A later erasure of the same address moves its time forward: consent given in between no longer counts.
      await tx.run(
        sql`INSERT INTO forgotten_addresses (channel, address_hash, forgotten_at) VALUES (${channel}, ${hash}, ${at})
            ON CONFLICT (channel, address_hash) DO UPDATE SET forgotten_at = excluded.forgotten_at
            WHERE excluded.forgotten_at > forgotten_addresses.forgotten_at`,
      );
    }
    if (hashes.size > 0) forgottenAddresses[channel] = hashes.size;
    if (set.size > 0) suppressions += await tx.run(sql`DELETE FROM suppressions WHERE channel = ${channel} AND address IN (${list([...set])})`);
  }

  const runs = await tx.all(
    sql`SELECT workflow_id, journey_id, ended_at FROM enrolments WHERE customer_id IN (${group}) ORDER BY entered_at, ${SEQ}`,
  );
  const runIds = runs.map((row) => String(row.workflow_id));
  const openRuns = runs
    .filter((row) => row.ended_at === null || row.ended_at === undefined)
    .map((row) => ({ workflowId: String(row.workflow_id), journeyId: String(row.journey_id) }));
  const runFilter = runIds.length > 0 ? sql`OR workflow_id IN (${list(runIds)})` : sql``;
  const erase = (table: string, where: Sql) => tx.run(sql`DELETE FROM ${rawTable(table)} WHERE ${where}`);
  const byCustomer = sql`customer_id IN (${group})`;
  const counts: ForgetCounts = {
    profiles: await erase('customers', sql`id IN (${group})`),
    identityLinks: await erase('identity_links', sql`user_id IN (${group}) OR anonymous_id IN (${group})`),
    events: await erase('events', sql`customer_id IN (${group}) OR user_id IN (${group}) OR anonymous_id IN (${group})`),
    messages: await erase('messages', byCustomer),
    subscriptions: await erase('subscriptions', byCustomer),
    consentChanges: await erase('consent_changes', byCustomer),
    suppressions,
    surveyAsks: await erase('survey_asks', sql`${byCustomer} ${runFilter}`),
    surveyAnswers: await erase('survey_answers', sql`${byCustomer} ${runFilter}`),
    sendSlots: await erase('send_slots', byCustomer),
    unsubscribeCodes: await erase('unsubscribe_codes', byCustomer),
    profileChanges: await erase('profile_changes', byCustomer),
    enrolments: 0,
    stepRecords: 0,
  };

  // Runs stay for the journey numbers (entered, outcomes, steps) under a pseudonym nobody can
  // trace back: random, and never stored beside the id it replaces.
  const pseudonym = `forgotten-${randomBytes(8).toString('hex')}`;
  const renamed = new Map<string, string>();
  for (const [i, workflowId] of runIds.entries()) {
    const replacement = `forgotten:${pseudonym}:${i + 1}`;
    renamed.set(workflowId, replacement);
    const open = sql`ended_at IS NULL`;
    counts.enrolments += await tx.run(
      sql`UPDATE enrolments SET workflow_id = ${replacement}, customer_id = ${pseudonym}, input = ${json(null)}, instance_key = '',
            outcome  = CASE WHEN ${open} THEN 'forgotten' ELSE outcome END,
            ended_at = CASE WHEN ${open} THEN ${typed(at, 'timestamptz')} ELSE ended_at END
          WHERE workflow_id = ${workflowId}`,
    );
  }
  const steps = await tx.all(
    sql`SELECT idempotency_key, workflow_id, journey_id, detail FROM step_records WHERE customer_id IN (${group}) ${runFilter} ORDER BY at, ${SEQ}`,
  );
  const lostRecords = new Set<string>();
  for (const [i, step] of steps.entries()) {
    const replacement = renamed.get(String(step.workflow_id));
    const key = String(step.idempotency_key);
    if (replacement === undefined) {
      counts.stepRecords += await tx.run(sql`DELETE FROM step_records WHERE idempotency_key = ${key}`);
      lostRecords.add(String(step.journey_id));
      continue;
    }
    counts.stepRecords += await tx.run(
      sql`UPDATE step_records SET idempotency_key = ${`${replacement}:${i + 1}`}, workflow_id = ${replacement}, customer_id = ${pseudonym},
            detail = ${json(strippedDetail(decode(step.detail)))}
          WHERE idempotency_key = ${key}`,
    );
  }
  // The step counters (sql/counters.ts) are aggregates, no personal data: a renamed run still
  // counts, as its records and enrolment do. Records of no run of this customer's are deleted,
  // and the sends and skips the page counts from records drop with them: the counters of their
  // journeys are counted again, so a journey's page stays what its records say (rare: records
  // are written by enrolled runs).
  for (const journeyId of lostRecords) for (const q of recountSteps(journeyId)) await tx.run(q);
  const found = Object.values(counts).some((n) => n > 0) || Object.keys(forgottenAddresses).length > 0;
  return { customer: ids[0], ids, erased: counts, forgottenAddresses, found, openRuns };
}

/** Table names are constants of this file, never input. */
function rawTable(name: string): Sql {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`not a table name: ${name}`);
  return raw(name);
}

/** See PrivacyStore.customerData. */
export async function customerData(db: Runner, dialect: Dialect, id: string): Promise<CustomerData | undefined> {
  const ids = await identityGroup(db, id);
  const group = list(ids);
  const records = <T>(shape: Shape<T>, rows: Row[]) => rows.map((row) => fromRow(shape, row, dialect));
  const profileRow = await first(db, sql`SELECT ${columns(CUSTOMER)} FROM customers WHERE id = ${ids[0]}`);
  const addresses = await addressesOf(db, ids, (value) => dialect.decodeJson(value));
  const held = [...addresses].filter(([, set]) => set.size > 0);
  const suppressionRows = held.length === 0
    ? []
    : await db.all(
        sql`SELECT channel, address, reason, at FROM suppressions
            WHERE ${join(held.map(([channel, set]) => sql`(channel = ${channel} AND address IN (${list([...set])}))`), ' OR ')}
            ORDER BY at, channel, address`,
      );
  const runs = records(ENROLMENT, await db.all(sql`SELECT ${columns(ENROLMENT)} FROM enrolments WHERE customer_id IN (${group}) ORDER BY entered_at, ${SEQ}`));
  const enrolments: CustomerData['enrolments'] = [];
  for (const { instanceKey, ...run } of runs) {
    const steps = records(STEP, await db.all(sql`SELECT ${columns(STEP)} FROM step_records WHERE workflow_id = ${run.workflowId} ORDER BY at, ${SEQ}`));
    enrolments.push({ ...run, ...(instanceKey ? { instanceKey } : {}), steps });
  }
  const data: CustomerData = {
    customer: ids[0],
    ids,
    ...(profileRow ? { profile: toProfile(fromRow(CUSTOMER, profileRow, dialect)) } : {}),
    identities: records(
      IDENTITY,
      await db.all(sql`SELECT anonymous_id, user_id, linked_at FROM identity_links WHERE user_id IN (${group}) OR anonymous_id IN (${group}) ORDER BY linked_at, anonymous_id`),
    ),
    subscriptions: records(
      SUBSCRIPTION,
      await db.all(sql`SELECT channel, category, status, source, updated_at FROM subscriptions WHERE customer_id IN (${group}) ORDER BY channel, category`),
    ),
    consentChanges: records(
      CONSENT_CHANGE,
      await db.all(
        sql`SELECT channel, category, status, source, applied, happened_at, recorded_at FROM consent_changes
            WHERE customer_id IN (${group}) ORDER BY happened_at, ${SEQ}`,
      ),
    ),
    suppressions: records(SUPPRESSION, suppressionRows),
    events: records(
      EVENT,
      await db.all(
        sql`SELECT ${columns(EVENT)} FROM events WHERE customer_id IN (${group}) OR user_id IN (${group}) OR anonymous_id IN (${group})
            ORDER BY timestamp, ${SEQ}`,
      ),
    ),
    messages: records(MESSAGE, await db.all(sql`SELECT ${columns(MESSAGE)} FROM messages WHERE customer_id IN (${group}) ORDER BY created_at, ${SEQ}`)),
    enrolments,
    surveyAsks: records(SURVEY_ASK, await db.all(sql`SELECT ${columns(SURVEY_ASK)} FROM survey_asks WHERE customer_id IN (${group}) ORDER BY asked_at, idempotency_key`)),
    surveyAnswers: records(
      SURVEY_ANSWER,
      await db.all(sql`SELECT ${columns(SURVEY_ANSWER)} FROM survey_answers WHERE customer_id IN (${group}) ORDER BY first_answered_at, workflow_id`),
    ),
  };
  const empty =
    data.profile === undefined &&
    [data.identities, data.subscriptions, data.consentChanges, data.events, data.messages, data.enrolments, data.surveyAsks, data.surveyAnswers].every(
      (rows) => rows.length === 0,
    );
  return empty ? undefined : data;
}

/** See PrivacyStore.forgottenAt. */
export async function forgottenAt(db: Runner, channel: string, addressHash: string): Promise<string | undefined> {
  const row = await first(db, sql`SELECT forgotten_at FROM forgotten_addresses WHERE channel = ${channel} AND address_hash = ${addressHash}`);
  return row?.forgotten_at == null ? undefined : new Date(String(row.forgotten_at)).toISOString();
}

/** See PrivacyStore.subscribedSince. */
export async function subscribedSince(db: Runner, customerId: string, channel: string, category: string | undefined, since: string): Promise<boolean> {
  const after = typed(isoTime(since, 'subscribed since'), 'timestamptz');
  const categoryFilter = category === undefined ? sql`` : sql`AND s.category = ${category}`;
  const row = await first(
    db,
    sql`SELECT 1 AS found FROM subscriptions s
        WHERE s.customer_id = COALESCE((SELECT user_id FROM identity_links WHERE anonymous_id = ${customerId}), ${typed(customerId, 'text')})
          AND s.channel = ${channel} ${categoryFilter} AND s.status = 'subscribed'
          AND (s.updated_at > ${after} OR EXISTS (
            SELECT 1 FROM consent_changes c WHERE c.customer_id = s.customer_id AND c.channel = s.channel AND c.category = s.category
              AND c.status = 'subscribed' AND c.recorded_at > ${after}))
        LIMIT 1`,
  );
  return row !== undefined;
}

/** See PrivacyStore.applyRetention. */
export async function applyRetention(db: Runner, dialect: Dialect, sweep: RetentionSweep, now: string): Promise<{ events: number; messages: number }> {
  const before = isoTime(sweep.before, 'retention cut-off');
  const limit = Math.max(1, Math.floor(sweep.limit));
  // Unrouted events are never deleted: the router loop still owes them a journey.
  const events = await db.run(
    sql`DELETE FROM events WHERE message_id IN (
          SELECT message_id FROM events WHERE routed_at IS NOT NULL AND received_at < ${before} ORDER BY received_at LIMIT ${limit})`,
  );
  // A message row is its send's idempotency key: it stays, with its status, and loses what was rendered.
  const rows = await db.all(
    sql`SELECT idempotency_key, result FROM messages
        WHERE created_at < ${before} AND status <> 'sending'
          AND (result->>'to' IS NOT NULL OR result->>'subject' IS NOT NULL OR result->>'body' IS NOT NULL OR result->>'error' IS NOT NULL)
        ORDER BY created_at LIMIT ${limit}`,
  );
  let messages = 0;
  for (const row of rows) {
    const result = (dialect.decodeJson(row.result) ?? {}) as Record<string, unknown>;
    const kept: Record<string, unknown> = Object.fromEntries(KEPT_RESULT_FIELDS.filter((f) => result[f] !== undefined).map((f) => [f, result[f]]));
    kept.contentErased = now;
    messages += await db.run(
      sql`UPDATE messages SET result = ${json(kept)}, updated_at = ${now} WHERE idempotency_key = ${String(row.idempotency_key)}`,
    );
  }
  return { events, messages };
}
