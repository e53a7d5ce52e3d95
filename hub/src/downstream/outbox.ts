import {
  type DownstreamChangeKind,
  type DownstreamPayload,
  type KnownDownstreamChange,
  assert,
  knownDownstreamChangeSchema,
  limits,
} from '@dovetail/shared';
import { type Kysely, PostgresAdapter, type Transaction, sql } from 'kysely';
import { downstreamNotifier, downstreamNotifyChannel } from './notifier.ts';
import type { Database } from '../database.ts';
import { erased, erasedAddress, vaultOf } from '../db/personal-data.ts';

export type DownstreamEvent = KnownDownstreamChange & { channel: string; createdAt: number };

/** A change as the protocol's schema of its kind reads it; anything else is a bug here, not input. */
function checkedChange(seq: number, kind: string, payload: unknown): KnownDownstreamChange {
  const checked = knownDownstreamChangeSchema.safeParse({ seq, kind, payload });
  assert(checked.success, `downstream ${kind} matches its schema: ${checked.error?.message}`);
  return checked.data;
}

/**
 * Appends one change to a downstream channel (docs/architecture.md, "Sync protocol") inside the caller's transaction, so the
 * change and its log entry commit together or not at all. The payload is checked against its kind's
 * schema (shared/protocol) right before it is written. The per-channel counter row is bumped
 * with a conditional update: PostgreSQL's row lock serializes concurrent appenders, SQLite has one
 * writer, and a rollback takes the seq back, so seqs are gap-free on both.
 */
export async function appendDownstream<Kind extends DownstreamChangeKind>(
  trx: Transaction<Database>,
  channel: string,
  kind: Kind,
  payload: DownstreamPayload<Kind>,
  nowMs: number,
  /** The customer whose `shipTo` the payload carries: stored sealed under their key (docs/operations.md, "Personal data"). */
  personal?: { email: string },
): Promise<number> {
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
  const checked = checkedChange(seq, kind, payload).payload as Record<string, unknown>;
  const shipTo = checked['shipTo'] as { address?: { country?: string } } | undefined;
  // The country stays readable: an erased customer's shipTo still reads as a valid address.
  const text = JSON.stringify(
    personal && shipTo !== undefined
      ? {
          ...checked,
          shipTo: await vaultOf(trx).seal(trx, personal.email, shipTo),
          shipToCountry: shipTo.address?.country,
        }
      : checked,
  );
  assert(text.length <= limits.downstreamPayloadBytesMax, `downstream payload within bound (${text.length})`);
  await trx
    .insertInto('downstream_log')
    .values({ channel, seq, type: kind, payload: text, created_at: nowMs })
    .execute();
  // Wake the socket senders. PostgreSQL delivers NOTIFY at commit to every listening instance; on
  // SQLite (one process) the in-process wake-up runs after this transaction's synchronous commit.
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${downstreamNotifyChannel}, ${channel})`.execute(trx);
  } else {
    setImmediate(() => downstreamNotifier.notify(channel));
  }
  return seq;
}

/** Reads a channel after a cursor, in seq order, at most `limit` changes, each checked as it is read. */
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
  const vault = vaultOf(db);
  return Promise.all(
    rows.map(async (row) => {
      let payload = JSON.parse(row.payload) as Record<string, unknown>;
      // A sealed shipTo is opened as it is sent; an erased customer's reads "erased" (docs/operations.md, "Personal data").
      if (typeof payload['shipTo'] === 'string') {
        const { shipToCountry, ...rest } = payload;
        const shipTo = await vault.open(db, payload['shipTo']);
        payload = {
          ...rest,
          shipTo: shipTo ?? { name: erased, address: { ...erasedAddress, country: shipToCountry } },
        };
      }
      return {
        ...checkedChange(Number(row.seq), row.type, payload),
        channel: row.channel,
        createdAt: Number(row.created_at),
      };
    }),
  );
}

/**
 * Appends several changes of one kind to a channel in one go (a bulk import): the counter moves by
 * their number once, the entries are inserted a chunk at a time, each checked like appendDownstream's,
 * and the senders are woken once. Seqs stay gap-free and in the given order.
 */
export async function appendDownstreamMany<Kind extends DownstreamChangeKind>(
  trx: Transaction<Database>,
  channel: string,
  changes: ReadonlyArray<{ kind: Kind; payload: DownstreamPayload<Kind> }>,
  nowMs: number,
): Promise<void> {
  if (changes.length === 0) return;
  await trx
    .insertInto('downstream_channels')
    .values({ channel, last_seq: 0 })
    .onConflict((oc) => oc.column('channel').doNothing())
    .execute();
  const row = await trx
    .updateTable('downstream_channels')
    .set((eb) => ({ last_seq: eb('last_seq', '+', changes.length) }))
    .where('channel', '=', channel)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const first = Number(row.last_seq) - changes.length + 1;
  assert(Number.isSafeInteger(first) && first >= 1, 'downstream seq is a positive integer');
  const entries = changes.map(({ kind, payload }, index) => {
    const text = JSON.stringify(checkedChange(first + index, kind, payload).payload);
    assert(text.length <= limits.downstreamPayloadBytesMax, `downstream payload within bound (${text.length})`);
    return { channel, seq: first + index, type: kind, payload: text, created_at: nowMs };
  });
  for (let start = 0; start < entries.length; start += 500)
    await trx
      .insertInto('downstream_log')
      .values(entries.slice(start, start + 500))
      .execute();
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${downstreamNotifyChannel}, ${channel})`.execute(trx);
  } else {
    setImmediate(() => downstreamNotifier.notify(channel));
  }
}
