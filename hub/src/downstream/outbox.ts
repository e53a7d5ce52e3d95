import { assert, limits } from '@dovetail/shared';
import { type Kysely, PostgresAdapter, type Transaction, sql } from 'kysely';
import { downstreamNotifier, downstreamNotifyChannel } from './notifier.ts';
import type { Database } from '../database.ts';

export type DownstreamEvent = { channel: string; seq: number; type: string; payload: unknown; createdAt: number };

/**
 * Appends one event to a downstream channel (DESIGN §5) inside the caller's transaction, so the
 * change and its log entry commit together or not at all. The per-channel counter row is bumped
 * with a conditional update: PostgreSQL's row lock serializes concurrent appenders, SQLite has one
 * writer, and a rollback takes the seq back, so seqs are gap-free on both.
 */
export async function appendDownstream(
  trx: Transaction<Database>,
  channel: string,
  type: string,
  payload: unknown,
  nowMs: number,
): Promise<number> {
  const text = JSON.stringify(payload);
  assert(text.length <= limits.downstreamPayloadBytesMax, `downstream payload within bound (${text.length})`);
  await trx
    .insertInto('downstream_channels')
    .values({ channel, last_seq: 0 })
    .onConflict((oc) => oc.column('channel').doNothing())
    .execute();
  const row = await trx
    .updateTable('downstream_channels')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('channel', '=', channel)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const seq = Number(row.last_seq);
  assert(Number.isSafeInteger(seq) && seq >= 1, 'downstream seq is a positive integer');
  await trx.insertInto('downstream_log').values({ channel, seq, type, payload: text, created_at: nowMs }).execute();
  // Wake the socket senders. PostgreSQL delivers NOTIFY at commit to every listening instance; on
  // SQLite (one process) the in-process wake-up runs after this transaction's synchronous commit.
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${downstreamNotifyChannel}, ${channel})`.execute(trx);
  } else {
    setImmediate(() => downstreamNotifier.notify(channel));
  }
  return seq;
}

/** Reads a channel after a cursor, in seq order, at most `limit` events. */
export async function readDownstream(
  db: Kysely<Database>,
  channel: string,
  afterSeq: number,
  limit: number,
): Promise<DownstreamEvent[]> {
  const rows = await db
    .selectFrom('downstream_log')
    .selectAll()
    .where('channel', '=', channel)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    channel: row.channel,
    seq: Number(row.seq),
    type: row.type,
    payload: JSON.parse(row.payload) as unknown,
    createdAt: Number(row.created_at),
  }));
}
