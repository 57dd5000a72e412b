import { postgresDialect, render, sqliteDialect } from '../../../profiles/sql/dialect';
import { ENROLMENT, EVENT, fromRow, insertRow, JOURNEY, snake } from '../../../profiles/sql/rows';
import type { Enrolment } from '../../../profiles/store';

describe('row mapping', () => {
  it('names a field’s column in snake_case', () => {
    expect(['customerId', 'idempotencyKey', 'at'].map(snake)).toEqual(['customer_id', 'idempotency_key', 'at']);
  });

  it('leaves absent optional fields out, keeps a JSON null in a required one, and decodes per dialect', () => {
    const row = {
      journey_id: 'cart',
      customer_id: 'c1',
      entry: 1,
      workflow_id: 'cart:c1:1',
      version: 'v1',
      entered_at: '2024-05-01T10:00:00.000Z',
      ended_at: null,
      outcome: null,
      current_step: 's1',
      instance_key: null,
    };
    const expected: Enrolment = {
      journeyId: 'cart',
      customerId: 'c1',
      entry: 1,
      workflowId: 'cart:c1:1',
      version: 'v1',
      enteredAt: '2024-05-01T10:00:00.000Z',
      input: null,
      currentStep: 's1',
    };
    expect(fromRow(ENROLMENT, { ...row, input: 'null' }, sqliteDialect)).toStrictEqual(expected);
    expect(fromRow(ENROLMENT, { ...row, input: null }, postgresDialect)).toStrictEqual(expected);
  });

  it('reads SQLite’s 0/1 as a boolean and a JSON null in an optional column as absent', () => {
    const journey = { journey_id: 'cart', version: 'v1', plan: '{"steps":[]}', deployed_at: 't', paused: 0 };
    expect(fromRow(JOURNEY, journey, sqliteDialect)).toStrictEqual({ journeyId: 'cart', version: 'v1', plan: { steps: [] }, deployedAt: 't', paused: false });
    const event = { message_id: 'e1', type: 'track', customer_id: 'c1', properties: 'null', timestamp: 't', received_at: 't' };
    expect(fromRow(EVENT, { ...event, user_id: null, anonymous_id: null, event: null, traits: null, context: null, routed_at: null }, sqliteDialect)).toStrictEqual({
      messageId: 'e1',
      type: 'track',
      customerId: 'c1',
      timestamp: 't',
      receivedAt: 't',
    });
  });

  it('inserts every field but the skipped ones, absent ones as NULL, JSON encoded', () => {
    const q = insertRow('events', EVENT, { messageId: 'e1', type: 'track', customerId: 'c1', properties: { a: 1 }, timestamp: 't', receivedAt: 't', routedAt: 't' }, { skip: ['routedAt'] });
    expect(render(q, postgresDialect)).toEqual({
      text:
        'INSERT INTO events (message_id, type, customer_id, timestamp, received_at, user_id, anonymous_id, event, properties, traits, context) ' +
        'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb)',
      values: ['e1', 'track', 'c1', 't', 't', null, null, null, '{"a":1}', null, null],
    });
  });
});
