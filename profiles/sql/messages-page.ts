/**
 * The console's messages list (both databases): the newest messages first, a page at a time by a
 * keyset cursor on (created_at, seq) rather than OFFSET, so the hundredth page costs what the first
 * does. Each filter has an index of migration 11 that starts with its column and continues in
 * list order (journey, channel, status; none for the plain list), so a page is one index range
 * read backwards and stopped after `limit + 1` rows.
 */
import { isoTime } from '../rules';
import type { ListedMessage, MessageCursor, MessagesQuery } from '../store';
import { join, sql, typed, word, type Dialect, type Sql } from './dialect';
import type { Runner } from './driver';
import { columns, fromRow, MESSAGE } from './rows';

const SEQ = word('seq');

/** The page `query` asks for, and the cursor of the next (older) one when there is one. */
export async function messagesPage(db: Runner, dialect: Dialect, query: MessagesQuery): Promise<{ messages: ListedMessage[]; older?: MessageCursor }> {
  const where = conditions(query);
  const rows = await db.all(
    sql`SELECT ${columns(MESSAGE)}, created_at, ${SEQ} AS seq FROM messages
        ${where.length === 0 ? sql`` : sql`WHERE ${join(where, ' AND ')}`}
        ORDER BY created_at DESC, ${SEQ} DESC LIMIT ${query.limit + 1}`,
  );
  // One row more than asked says whether an older page exists without counting them all.
  const messages = rows.slice(0, query.limit).map((row) => ({ ...fromRow(MESSAGE, row, dialect), createdAt: String(row.created_at), seq: Number(row.seq) }));
  const last = messages[messages.length - 1];
  return rows.length > query.limit && last !== undefined ? { messages, older: { createdAt: last.createdAt, seq: last.seq } } : { messages };
}

function conditions(query: MessagesQuery): Sql[] {
  const where: Sql[] = [];
  if (query.journeyId !== undefined) where.push(sql`journey_id = ${query.journeyId}`);
  if (query.channel !== undefined) where.push(sql`channel = ${query.channel}`);
  // A reason is a skip's: the status index narrows to skipped messages before any JSON is read.
  const status = query.status ?? (query.reason !== undefined ? 'skipped' : undefined);
  if (status !== undefined) where.push(sql`status = ${status}`);
  if (query.reason !== undefined) where.push(sql`result ->> 'reason' = ${query.reason}`);
  if (query.before !== undefined) {
    const at = typed(isoTime(query.before.createdAt, 'before'), 'timestamptz');
    // A row comparison both databases turn into one index range on (…, created_at, seq).
    where.push(sql`(created_at, ${SEQ}) < (${at}, ${query.before.seq})`);
  }
  return where;
}
