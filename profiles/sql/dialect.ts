/**
 * What differs between SQLite and PostgreSQL, in one place, so the store's SQL is written once.
 *
 * Statements are `sql` tagged templates: every interpolated value becomes a bound parameter
 * (`?` in SQLite, `$n` in PostgreSQL), `json(value)` and `typed(value, type)` add the casts
 * PostgreSQL needs where it cannot infer a parameter's type, and tokens (`SEQ`, the column types
 * in migrations) name the few things each database spells differently.
 */

/** How one database spells what the store needs. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** The n-th (1-based) parameter, cast to `pgType` where the database needs it. */
  placeholder(n: number, pgType: string | undefined): string;
  /** A parameter value as the driver binds it (SQLite has no booleans). */
  encode(value: unknown): unknown;
  /** A JSON column's value as read (SQLite returns the text, PostgreSQL's JSONB is parsed already). */
  decodeJson(value: unknown): unknown;
  /** Whether an error is a unique or primary-key violation. */
  isUniqueViolation(err: unknown): boolean;
  /** Column types and fragments the schema spells differently. */
  readonly words: Record<Word, string>;
}

/** Names of the per-dialect words a statement may contain (see `word`). */
export type Word =
  | 'json'
  | 'time'
  | 'bool'
  | 'false'
  /** The tie-breaker as an index's last column, with its comma: PostgreSQL's seq; nothing in SQLite, whose every index ends in the rowid. */
  | 'seqKey'
  /** Insertion order, the tie-breaker among equal times: SQLite's rowid, PostgreSQL's identity column. */
  | 'seq'
  /** The identity column PostgreSQL needs for `seq` (SQLite has rowid already), with its comma. */
  | 'seqColumn'
  /** Before and after a time column, making it its UTC day as `YYYY-MM-DD` text (see `utcDay`). */
  | 'utcDayOpen'
  | 'utcDayClose';

class Param {
  constructor(
    readonly value: unknown,
    readonly pgType?: string,
  ) {}
}

class WordRef {
  constructor(readonly word: Word) {}
}

type Chunk = string | Param | WordRef;

/** A statement (or part of one) written once for both databases; `render` turns it into text and values. */
export class Sql {
  constructor(readonly chunks: readonly Chunk[]) {}
}

/** Writes a statement: `${value}` binds a parameter, `${otherSql}` splices a fragment. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const chunks: Chunk[] = [];
  strings.forEach((text, i) => {
    chunks.push(text);
    if (i < values.length) append(chunks, toChunks(values[i]));
  });
  return new Sql(chunks);
}

/**
 * Appends in a plain loop: statements are built per request (a batch's multi-row INSERT has
 * hundreds of chunks), and spreading or flatMap-ing them measured ten times slower.
 */
function append(into: Chunk[], chunks: readonly Chunk[]): void {
  for (const chunk of chunks) into.push(chunk);
}

function toChunks(value: unknown): readonly Chunk[] {
  if (value instanceof Sql) return value.chunks;
  if (value instanceof Param || value instanceof WordRef) return [value];
  return [new Param(value)];
}

/** A parameter PostgreSQL must be told the type of (a bare `SELECT $1`, `$1 IS NULL`, a CASE branch). */
export function typed(value: unknown, pgType: string): Param {
  return new Param(value, pgType);
}

/** A JSON value for a JSON column; `undefined` becomes SQL NULL, `null` the JSON null. */
export function json(value: unknown): Param {
  return new Param(value === undefined ? null : JSON.stringify(value), 'jsonb');
}

/** A word each dialect spells its own way (see `Word`). */
export function word(name: Word): WordRef {
  return new WordRef(name);
}

/** Trusted SQL text (column lists built from constants), spliced as is. */
export function raw(text: string): Sql {
  return new Sql([text]);
}

/** The UTC day of a time column as `YYYY-MM-DD` text, e.g. to group runs by the day they ended. */
export function utcDay(column: string): Sql {
  return new Sql([new WordRef('utcDayOpen'), column, new WordRef('utcDayClose')]);
}

/** Fragments joined by a separator, e.g. a VALUES list. */
export function join(parts: readonly Sql[], separator: string): Sql {
  const chunks: Chunk[] = [];
  parts.forEach((part, i) => {
    if (i > 0) chunks.push(separator);
    append(chunks, part.chunks);
  });
  return new Sql(chunks);
}

/**
 * Values as bound parameters separated by commas, e.g. an `IN (…)` list or a VALUES row; a
 * `json(…)` or `typed(…)` value keeps its cast.
 */
export function list(values: readonly unknown[]): Sql {
  const chunks: Chunk[] = [];
  values.forEach((value, i) => {
    if (i > 0) chunks.push(', ');
    append(chunks, toChunks(value));
  });
  return new Sql(chunks);
}

/** The text and values a driver sends for `q` in `dialect`. */
export function render(q: Sql, dialect: Dialect): { text: string; values: unknown[] } {
  let text = '';
  const values: unknown[] = [];
  for (const chunk of q.chunks) {
    if (typeof chunk === 'string') text += chunk;
    else if (chunk instanceof WordRef) text += dialect.words[chunk.word];
    else {
      values.push(dialect.encode(chunk.value));
      text += dialect.placeholder(values.length, chunk.pgType);
    }
  }
  return { text, values };
}

/**
 * SQLite keeps JSON and times as TEXT (times as ISO-8601 UTC, so text order is time order) and
 * booleans as 0/1.
 */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  placeholder: () => '?',
  encode: (value) => (typeof value === 'boolean' ? Number(value) : (value ?? null)),
  decodeJson: (value) => (typeof value === 'string' ? (JSON.parse(value) as unknown) : null),
  isUniqueViolation: (err) => {
    const code = (err as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  // An ISO-8601 UTC time's first ten characters are its day.
  words: { json: 'TEXT', time: 'TEXT', bool: 'INTEGER', false: '0', seq: 'rowid', seqKey: '', seqColumn: '', utcDayOpen: 'substr(', utcDayClose: ', 1, 10)' },
};

/** PostgreSQL keeps JSON as JSONB, times as TIMESTAMPTZ (read back as ISO text, see the driver). */
export const postgresDialect: Dialect = {
  name: 'postgres',
  placeholder: (n, pgType) => (pgType === undefined ? `$${n}` : `$${n}::${pgType}`),
  encode: (value) => value ?? null,
  decodeJson: (value) => value,
  isUniqueViolation: (err) => (err as { code?: unknown } | null)?.code === '23505',
  words: {
    json: 'JSONB',
    time: 'TIMESTAMPTZ',
    bool: 'BOOLEAN',
    false: 'FALSE',
    seq: 'seq',
    seqKey: ', seq',
    seqColumn: '\n        seq             BIGINT GENERATED ALWAYS AS IDENTITY,',
    // In UTC whatever the session's time zone.
    utcDayOpen: 'to_char(',
    utcDayClose: " AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  },
};
