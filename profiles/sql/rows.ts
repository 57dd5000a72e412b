/**
 * How records map to table rows, declared once per record: each field lives in the snake_case
 * column of the same name; the shape says which hold JSON, which are booleans, and which are left
 * out of the record when NULL (so absent optional fields stay absent, never `null`).
 */
import type { CustomerState, PastEntry } from '../rules';
import type { BroadcastProgress, ConsentChange, DeployedJourney, Enrolment, MessageRecord, StepRecord, StoredEvent, SurveyAnswer, SurveyAsk, UnsubscribeCode } from '../store';
import { join, json, list, raw, sql, type Dialect, type Sql } from './dialect';
import type { Row } from './driver';

/** A record's columns (see the file comment). */
export interface Shape<T> {
  fields: readonly (keyof T & string)[];
  json?: readonly (keyof T & string)[];
  bool?: readonly (keyof T & string)[];
  optional?: readonly (keyof T & string)[];
}

export const CUSTOMER: Shape<CustomerState> = {
  fields: ['id', 'email', 'phone', 'timezone', 'traits', 'tags'],
  json: ['traits', 'tags'],
  optional: ['email', 'phone', 'timezone'],
};

export const STEP: Shape<StepRecord> = {
  fields: ['idempotencyKey', 'workflowId', 'journeyId', 'version', 'customerId', 'stepId', 'kind', 'at', 'detail'],
  json: ['detail'],
  optional: ['detail'],
};

export const MESSAGE: Shape<MessageRecord> = {
  fields: ['idempotencyKey', 'customerId', 'journeyId', 'stepId', 'channel', 'template', 'status', 'result'],
  json: ['result'],
  optional: ['result'],
};

export const EVENT: Shape<StoredEvent> = {
  // Required fields first: records keep the key order API responses have always had.
  fields: [
    'messageId',
    'type',
    'customerId',
    'timestamp',
    'receivedAt',
    'userId',
    'anonymousId',
    'event',
    'properties',
    'traits',
    'context',
    'routedAt',
  ],
  json: ['properties', 'traits', 'context'],
  optional: ['userId', 'anonymousId', 'event', 'properties', 'traits', 'context', 'routedAt'],
};

export const ENROLMENT: Shape<Enrolment> = {
  fields: ['journeyId', 'customerId', 'entry', 'workflowId', 'version', 'enteredAt', 'input', 'endedAt', 'outcome', 'currentStep', 'instanceKey'],
  json: ['input'],
  // The store drops a keyless run's '' so the field stays absent, as before keys existed.
  optional: ['endedAt', 'outcome', 'currentStep', 'instanceKey'],
};

/** An earlier run as the re-entry rule sees it (`endedAt` stays null while the run is active). */
export const PAST_ENTRY: Shape<PastEntry> = { fields: ['entry', 'enteredAt', 'endedAt', 'instanceKey'] };

export const JOURNEY: Shape<DeployedJourney> = {
  fields: ['journeyId', 'version', 'plan', 'deployedAt', 'paused'],
  json: ['plan'],
  bool: ['paused'],
};

export const UNSUBSCRIBE_CODE: Shape<UnsubscribeCode> = {
  fields: ['code', 'idempotencyKey', 'customerId', 'channel', 'category', 'createdAt', 'expiresAt'],
};

export const CONSENT_CHANGE: Shape<ConsentChange> = {
  fields: ['changeId', 'customerId', 'channel', 'category', 'status', 'source', 'applied', 'happenedAt', 'recordedAt'],
  bool: ['applied'],
};

export const SURVEY_ASK: Shape<SurveyAsk> = {
  fields: ['surveyId', 'customerId', 'journeyId', 'workflowId', 'stepId', 'askedAt'],
};

export const SURVEY_ANSWER: Shape<SurveyAnswer> = {
  fields: ['surveyId', 'customerId', 'journeyId', 'workflowId', 'stepId', 'scale', 'score', 'comment', 'firstAnsweredAt', 'answeredAt'],
  optional: ['comment'],
};

export const BROADCAST: Shape<BroadcastProgress> = {
  fields: ['journeyId', 'beganAt', 'occurrence', 'matched', 'entered', 'finishedAt', 'stopped'],
  optional: ['occurrence', 'finishedAt', 'stopped'],
};

/** `customerId` → `customer_id`. */
export function snake(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The shape's column list, for a SELECT. */
export function columns<T>(shape: Shape<T>): Sql {
  return raw(shape.fields.map(snake).join(', '));
}

/** Builds the record from a row holding the shape's columns. */
export function fromRow<T>(shape: Shape<T>, row: Row, dialect: Dialect): T {
  const record: Record<string, unknown> = {};
  for (const field of shape.fields) {
    let value = row[snake(field)];
    // JSON first: a JSON null in a TEXT column is the text 'null' until decoded.
    if (shape.json?.includes(field)) value = dialect.decodeJson(value);
    if (shape.bool?.includes(field)) value = Boolean(value);
    if (value === null && shape.optional?.includes(field)) continue;
    record[field] = value;
  }
  return record as T;
}

/**
 * `INSERT INTO table (…) VALUES (…)` for the shape's fields (absent ones as NULL) except those
 * in `skip`, plus `extra` columns given by their column name.
 */
export function insertRow<T>(table: string, shape: Shape<T>, record: T, options: { skip?: readonly (keyof T & string)[]; extra?: Row } = {}): Sql {
  return insertRows(table, shape, [record], options);
}

/** `INSERT INTO table (…) VALUES (…), (…)`: one statement for several records, as `insertRow` writes each. */
export function insertRows<T>(table: string, shape: Shape<T>, records: readonly T[], options: { skip?: readonly (keyof T & string)[]; extra?: Row } = {}): Sql {
  const fields = shape.fields.filter((field) => !options.skip?.includes(field));
  const names = [...fields.map(snake), ...Object.keys(options.extra ?? {})];
  const row = (record: T) => {
    const values = [...fields.map((field) => (shape.json?.includes(field) ? json(record[field]) : (record[field] ?? null))), ...Object.values(options.extra ?? {})];
    return sql`(${list(values)})`;
  };
  return sql`INSERT INTO ${raw(table)} (${raw(names.join(', '))}) VALUES ${join(records.map(row), ', ')}`;
}
