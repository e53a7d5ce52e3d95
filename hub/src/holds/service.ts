import {
  conflict,
  DomainError,
  expiringStatusAt,
  limits,
  newId,
  notFound,
  type ReserveRequest,
} from '@dovetail/shared';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { availableSql } from '../db/available.ts';
import {
  type AvailabilityRow,
  compareLockOrder,
  type HoldView,
  holdExpiresAt,
  insufficient,
  type Line,
  LineDoesNotFit,
  planLines,
  type ReserveContext,
  takenHoldView,
} from './plan.ts';
import { capRefusal, postgresHoldBatcherOf } from './postgres-batcher.ts';
import { releaseHoldPromises, sweepExpiredPromises } from './promise-ledger.ts';
import { type SqliteHoldWriter, sqliteHoldWriterOf } from './sqlite-writer.ts';

export type { HoldView } from './plan.ts';

type Dialect = 'sqlite' | 'postgres';

/** Availability per (warehouse, sku) for the requested SKUs with each warehouse's kind and location, read without locks: allocation's input. */
async function readAvailability(
  db: Kysely<Database>,
  skus: string[],
  warehouseId: string | undefined,
  nowMs: number,
): Promise<AvailabilityRow[]> {
  let query = db
    .selectFrom('stock_partitions as p')
    .innerJoin('warehouses as w', 'w.id', 'p.warehouse_id')
    .select(['p.warehouse_id', 'p.sku', 'w.kind', 'w.lat', 'w.lon', availableSql('p', nowMs).as('available')])
    .where('p.sku', 'in', skus);
  if (warehouseId !== undefined) query = query.where('p.warehouse_id', '=', warehouseId);
  return (await query.execute()).map((row) => ({
    ...row,
    lat: Number(row.lat),
    lon: Number(row.lon),
    available: Number(row.available),
  }));
}

/** Takes expired lines of one partition out of its counter (inside the caller's transaction, under the partition's lock). */
export async function settleExpired(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  nowMs: number,
): Promise<void> {
  const expired = await trx
    .selectFrom('hold_lines')
    .select(['hold_id', 'line_no', 'quantity'])
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .where('counted', '=', 1)
    .where('expires_at', '<=', nowMs)
    .execute();
  if (expired.length === 0) return;
  let settled = 0;
  for (const line of expired) {
    const uncounted = await trx
      .updateTable('hold_lines')
      .set({ counted: 0 })
      .where('hold_id', '=', line.hold_id)
      .where('line_no', '=', line.line_no)
      .where('counted', '=', 1)
      .executeTakeFirst();
    if (Number(uncounted.numUpdatedRows) === 1) settled += Number(line.quantity);
  }
  if (settled === 0) return;
  await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ reserved: eb('reserved', '-', settled) }))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .execute();
}

type PostgresFailure = { code?: string; message?: string };

/**
 * PostgreSQL with a plan: one call of `dovetail_reserve` (db/migrations/0004_holds.ts, with the hold
 * cap since 0027_hold_caps.ts), lines locked in the given order.
 */
async function reservePostgresPlanned(
  db: Kysely<Database>,
  id: string,
  request: ReserveRequest,
  clientId: string,
  lines: Line[],
  nowMs: number,
  expiresAt: number,
  capDefault: number | undefined,
): Promise<void> {
  try {
    await sql`select dovetail_reserve(${id}, ${clientId}, ${nowMs}::bigint, ${expiresAt}::bigint,
      ${lines.map((line) => line.warehouseId)}::text[], ${lines.map((line) => line.sku)}::text[], ${lines.map((line) => line.quantity)}::bigint[],
      ${capDefault ?? null}::bigint)`.execute(db);
  } catch (error) {
    const failure = error as PostgresFailure;
    if (failure.code === 'DT409') throw new LineDoesNotFit(Number(failure.message));
    if (failure.code === 'DT429') throw capRefusal(request, String(failure.message));
    throw error;
  }
}

/**
 * Takes a checkout hold: all lines or none. Availability is proved by the same statement that takes
 * it, never by a read followed by a write across round trips: on SQLite the hold joins a group commit
 * (holds/sqlite-writer.ts: catalog check, availability read, allocation and conditional updates in one
 * synchronous pass under SQLite's write lock); on PostgreSQL one server-side function proves and takes
 * it under the partitions' row locks (batched with concurrent holds by holds/postgres-batcher.ts),
 * after the shared strategy planned it when there was a choice.
 * A lost race against another checkout re-plans from fresh availability, a bounded number of times.
 *
 * `options.writer` overrides the SQLite writer registered for `db` (createHub starts one).
 */
export async function reserveHold(
  db: Kysely<Database>,
  dialect: Dialect,
  request: ReserveRequest,
  context: ReserveContext,
  options: { writer?: SqliteHoldWriter } = {},
): Promise<HoldView> {
  if (dialect === 'sqlite') {
    const writer = options.writer ?? sqliteHoldWriterOf(db);
    if (!writer)
      throw new Error('SQLite holds are taken by a SqliteHoldWriter: start one for this database (createHub does)');
    return writer.submit(request, context);
  }
  const { nowMs } = context;
  const expiresAt = holdExpiresAt(request, nowMs);
  // Group-committed with other holds by the batcher createHub starts (holds/postgres-batcher.ts); it
  // answers undefined when several warehouses could serve and the shared strategy must choose.
  const batcher = postgresHoldBatcherOf(db);
  if (!batcher)
    throw new Error(
      'PostgreSQL holds are taken by a PostgresHoldBatcher: start one for this database (createHub does; hub.close stops it)',
    );
  const fast = await batcher.submit(newId(), request, context, expiresAt);
  if (fast) return fast;

  for (let attempt = 1; ; attempt++) {
    const planned = planLines(
      request.lines,
      await readAvailability(
        db,
        request.lines.map((line) => line.sku),
        request.warehouseId,
        nowMs,
      ),
      context.destination,
    );
    if (planned instanceof DomainError) throw planned;
    // A fixed lock order (warehouse, sku) keeps two multi-line holds from deadlocking.
    const lines = [...planned].sort(compareLockOrder);
    const id = newId();
    try {
      await reservePostgresPlanned(
        db,
        id,
        request,
        context.clientId,
        lines,
        nowMs,
        expiresAt,
        batcher.holdUnitsPerSkuMax,
      );
      return takenHoldView(id, request, planned, nowMs, expiresAt);
    } catch (error) {
      if (!(error instanceof LineDoesNotFit)) throw error;
      const line = lines[error.index] as Line;
      if (request.warehouseId !== undefined || attempt >= limits.holdReserveAttemptsMax) {
        const fresh = await readAvailability(db, [line.sku], line.warehouseId, nowMs);
        throw insufficient(line, fresh[0]?.available ?? 0);
      }
    }
  }
}

async function loadHold(db: Kysely<Database> | Transaction<Database>, id: string) {
  const hold = await db.selectFrom('holds').selectAll().where('id', '=', id).executeTakeFirst();
  if (!hold) return undefined;
  const lines = await db.selectFrom('hold_lines').selectAll().where('hold_id', '=', id).orderBy('line_no').execute();
  return { hold, lines };
}

function toView(loaded: NonNullable<Awaited<ReturnType<typeof loadHold>>>, nowMs: number): HoldView {
  const { hold, lines } = loaded;
  return {
    id: hold.id,
    status: expiringStatusAt(
      hold.status as 'active' | 'released' | 'converted',
      'active',
      Number(hold.expires_at),
      nowMs,
    ),
    expiresAt: new Date(Number(hold.expires_at)).toISOString(),
    createdAt: new Date(Number(hold.created_at)).toISOString(),
    lines: lines.map((line) => ({ sku: line.sku, quantity: Number(line.quantity), warehouseId: line.warehouse_id })),
  };
}

export async function getHold(
  db: Kysely<Database>,
  id: string,
  clientId: string | '*',
  nowMs: number,
): Promise<HoldView> {
  const loaded = await loadHold(db, id);
  if (!loaded || (clientId !== '*' && loaded.hold.client_id !== clientId)) throw notFound('hold');
  return toView(loaded, nowMs);
}

/**
 * Gives a hold's units back at once. Releasing twice answers the same; a hold that became an
 * order's allocation cannot be released (409). Each partition is locked before its lines, the order
 * every writer uses.
 */
export async function releaseHold(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  clientId: string | '*',
  nowMs: number,
): Promise<HoldView> {
  await db.transaction().execute((trx) => releaseHoldIn(trx, dialect, id, clientId, nowMs));
  return getHold(db, id, clientId, nowMs);
}

/** `releaseHold` inside the caller's transaction (an exchange canceled with its replacement order). */
export async function releaseHoldIn(
  trx: Transaction<Database>,
  dialect: Dialect,
  id: string,
  clientId: string | '*',
  nowMs: number,
): Promise<void> {
  let holdQuery = trx.selectFrom('holds').selectAll().where('id', '=', id);
  if (dialect === 'postgres') holdQuery = holdQuery.forUpdate();
  const hold = await holdQuery.executeTakeFirst();
  if (!hold || (clientId !== '*' && hold.client_id !== clientId)) throw notFound('hold');
  if (hold.status === 'converted')
    throw conflict('hold_converted', 'this hold became an order; cancel the order instead');
  if (hold.status === 'released') return;
  const lines = await trx.selectFrom('hold_lines').selectAll().where('hold_id', '=', id).execute();
  lines.sort((a, b) =>
    compareLockOrder({ warehouseId: a.warehouse_id, sku: a.sku }, { warehouseId: b.warehouse_id, sku: b.sku }),
  );
  for (const line of lines) {
    if (dialect === 'postgres') {
      await sql`select 1 from stock_partitions where warehouse_id = ${line.warehouse_id} and sku = ${line.sku} for update`.execute(
        trx,
      );
    }
    const uncounted = await trx
      .updateTable('hold_lines')
      .set({ counted: 0 })
      .where('hold_id', '=', id)
      .where('line_no', '=', line.line_no)
      .where('counted', '=', 1)
      .executeTakeFirst();
    if (Number(uncounted.numUpdatedRows) === 1) {
      await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ reserved: eb('reserved', '-', Number(line.quantity)) }))
        .where('warehouse_id', '=', line.warehouse_id)
        .where('sku', '=', line.sku)
        .execute();
    }
  }
  // Its pre-order and made-to-order promises go with it (docs/catalog.md, "Pre-orders and made-to-order").
  await releaseHoldPromises(trx, dialect, id);
  await trx.updateTable('holds').set({ status: 'released', released_at: nowMs }).where('id', '=', id).execute();
}

/**
 * The sweeper: takes expired lines out of the partition counters, a bounded number of partitions
 * per pass. Correctness never waits for it (readers and writers subtract expired lines themselves);
 * it keeps the counters and the index small.
 */
export async function sweepExpiredHolds(db: Kysely<Database>, dialect: Dialect, nowMs: number): Promise<number> {
  const partitions = await db
    .selectFrom('hold_lines')
    .select(['warehouse_id', 'sku'])
    .distinct()
    .where('counted', '=', 1)
    .where('expires_at', '<=', nowMs)
    .limit(limits.holdSweepPartitionsMax)
    .execute();
  for (const partition of partitions) {
    await db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') {
        await sql`select 1 from stock_partitions where warehouse_id = ${partition.warehouse_id} and sku = ${partition.sku} for update`.execute(
          trx,
        );
      }
      await settleExpired(trx, partition.warehouse_id, partition.sku, nowMs);
    });
  }
  return partitions.length + (await sweepExpiredPromises(db, dialect, nowMs));
}
