import { json, postgresDialect, render, sql, sqliteDialect, typed, word } from '../../../profiles/sql/dialect';

describe('sql statements, written once', () => {
  const statement = (customer: string, journey: string | null) =>
    sql`SELECT at FROM send_slots WHERE customer_id = ${customer} AND (${typed(journey, 'text')} IS NULL OR journey_id = ${journey})
        ORDER BY at, ${word('seq')}`;

  it('bind every value as a parameter: ? in SQLite, $n with the casts it needs in PostgreSQL', () => {
    expect(render(statement('c1', null), sqliteDialect)).toEqual({
      text: expect.stringMatching(/customer_id = \? AND \(\? IS NULL OR journey_id = \?\)\s+ORDER BY at, rowid$/),
      values: ['c1', null, null],
    });
    expect(render(statement('c1', 'cart'), postgresDialect)).toEqual({
      text: expect.stringMatching(/customer_id = \$1 AND \(\$2::text IS NULL OR journey_id = \$3\)\s+ORDER BY at, seq$/),
      values: ['c1', 'cart', 'cart'],
    });
  });

  it('splice fragments, numbering their parameters in order', () => {
    const group = sql`SELECT ${'u1'} UNION SELECT anonymous_id FROM identity_links WHERE user_id = ${'u1'}`;
    const q = sql`SELECT * FROM enrolments WHERE journey_id = ${'cart'} AND customer_id IN (${group}) LIMIT ${5}`;
    expect(render(q, postgresDialect)).toEqual({
      text: 'SELECT * FROM enrolments WHERE journey_id = $1 AND customer_id IN (SELECT $2 UNION SELECT anonymous_id FROM identity_links WHERE user_id = $3) LIMIT $4',
      values: ['cart', 'u1', 'u1', 5],
    });
  });

  it('encode JSON as text (NULL only for undefined) and booleans as 0/1 where SQLite needs it', () => {
    const q = sql`UPDATE t SET a = ${json({ x: 1 })}, b = ${json(null)}, c = ${json(undefined)}, d = ${true}, e = ${undefined}`;
    expect(render(q, sqliteDialect).values).toEqual(['{"x":1}', 'null', null, 1, null]);
    expect(render(q, postgresDialect)).toEqual({
      text: 'UPDATE t SET a = $1::jsonb, b = $2::jsonb, c = $3::jsonb, d = $4, e = $5',
      values: ['{"x":1}', 'null', null, true, null],
    });
  });

  it('decode JSON columns and recognise unique violations of either database', () => {
    expect(sqliteDialect.decodeJson('{"x":1}')).toEqual({ x: 1 });
    expect(sqliteDialect.decodeJson(null)).toBeNull();
    expect(postgresDialect.decodeJson({ x: 1 })).toEqual({ x: 1 });
    expect(sqliteDialect.isUniqueViolation({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBe(true);
    expect(sqliteDialect.isUniqueViolation({ code: 'SQLITE_BUSY' })).toBe(false);
    expect(postgresDialect.isUniqueViolation({ code: '23505' })).toBe(true);
    expect(postgresDialect.isUniqueViolation(undefined)).toBe(false);
  });
});
