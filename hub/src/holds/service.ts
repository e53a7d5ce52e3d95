import {
  type CandidateWarehouse,
  type GeoPoint,
  type ReserveRequest,
  allocationStrategies,
  defaultAllocationStrategyName,
  holdStatusAt,
  limits,
  newId,
} from '@dovetail/shared';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { ApiError, conflict, notFound } from '../http/errors.ts';

export type HoldView = {
  id: string;
  status: 'active' | 'released' | 'expired' | 'converted';
  expiresAt: string;
  createdAt: string;
  lines: Array<{ sku: string; quantity: number; warehouseId: string }>;
};

type Dialect = 'sqlite' | 'postgres';
type Line = { sku: string; quantity: number; warehouseId: string };

/** Units a partition can promise at `nowMs`: expired lines still in the counter do not count. */
const availableSql = (nowMs: number) => sql<number>`(p.on_hand - p.committed - p.reserved - p.damaged - p.quality_control - p.safety_stock - p.edge_quota
  + coalesce((select sum(h.quantity) from hold_lines h
      where h.warehouse_id = p.warehouse_id and h.sku = p.sku and h.counted = 1 and h.expires_at <= ${nowMs}), 0))`;

class LineDoesNotFit extends Error {
  constructor(readonly index: number) {
    super(`line ${index} does not fit`);
  }
}

function insufficient(line: { sku: string; quantity: number }, available: number): ApiError {
  return conflict('insufficient_stock', `only ${Math.max(0, available)} of ${line.sku} can be held, not ${line.quantity}`, {
    sku: line.sku,
    quantity: line.quantity,
    available: Math.max(0, available),
  });
}

/** Availability per (warehouse, sku) for the requested SKUs, read without locks (allocation's input). */
async function readAvailability(db: Kysely<Database>, skus: string[], warehouseId: string | undefined, nowMs: number) {
  let query = db
    .selectFrom('stock_partitions as p')
    .select(['p.warehouse_id', 'p.sku', availableSql(nowMs).as('available')])
    .where('p.sku', 'in', skus);
  if (warehouseId !== undefined) query = query.where('p.warehouse_id', '=', warehouseId);
  const rows = await query.execute();
  const byWarehouse = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const skusHere = byWarehouse.get(row.warehouse_id) ?? new Map<string, number>();
    skusHere.set(row.sku, Number(row.available));
    byWarehouse.set(row.warehouse_id, skusHere);
  }
  return byWarehouse;
}

/**
 * Chooses warehouses with the configured strategy (shared/domain/allocation) from a lock-free read
 * of availability. The choice is only a plan: the reservation itself proves availability under the
 * partition's lock, and a lost race plans again from fresh numbers.
 */
async function allocate(
  db: Kysely<Database>,
  request: ReserveRequest['lines'],
  availability: Map<string, Map<string, number>>,
  destination: GeoPoint | undefined,
): Promise<Line[] | ApiError> {
  const ids = [...availability.keys()];
  const rows = ids.length === 0 ? [] : await db.selectFrom('warehouses').select(['id', 'kind', 'lat', 'lon']).where('id', 'in', ids).execute();
  const warehouses: CandidateWarehouse[] = rows.map((row) => ({
    id: row.id,
    kind: row.kind as CandidateWarehouse['kind'],
    location: { lat: Number(row.lat), lon: Number(row.lon) },
    available: Object.fromEntries(availability.get(row.id) ?? []),
  }));
  const result = allocationStrategies[defaultAllocationStrategyName]({ lines: request, warehouses, ...(destination ? { destination } : {}) });
  if (!result.ok) return insufficient(result.line, result.line.available);
  return result.allocations.flatMap((allocation) => allocation.lines.map((line) => ({ ...line, warehouseId: allocation.warehouseId })));
}

/** Takes expired lines of one partition out of its counter (inside the caller's transaction, under the partition's lock). */
async function settleExpired(trx: Transaction<Database>, warehouseId: string, sku: string, nowMs: number): Promise<void> {
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

/** SQLite has one writer: the whole hold is one transaction of conditional updates. */
async function reserveSqlite(db: Kysely<Database>, id: string, clientId: string, lines: Line[], nowMs: number, expiresAt: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('holds').values({ id, client_id: clientId, status: 'active', expires_at: expiresAt, created_at: nowMs, released_at: null }).execute();
    for (const [index, line] of lines.entries()) {
      await settleExpired(trx, line.warehouseId, line.sku, nowMs);
      const taken = await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ reserved: eb('reserved', '+', line.quantity) }))
        .where('warehouse_id', '=', line.warehouseId)
        .where('sku', '=', line.sku)
        .where(sql<boolean>`on_hand - committed - reserved - damaged - quality_control - safety_stock - edge_quota >= ${line.quantity}`)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) throw new LineDoesNotFit(index);
      await trx
        .insertInto('hold_lines')
        .values({ hold_id: id, line_no: index, warehouse_id: line.warehouseId, sku: line.sku, quantity: line.quantity, expires_at: expiresAt, counted: 1 })
        .execute();
    }
  });
}

/** PostgreSQL: one call of `dovetail_reserve` (see holds/schema.ts), lines locked in a fixed order. */
async function reservePostgres(db: Kysely<Database>, id: string, clientId: string, lines: Line[], nowMs: number, expiresAt: number): Promise<void> {
  try {
    await sql`select dovetail_reserve(${id}, ${clientId}, ${nowMs}::bigint, ${expiresAt}::bigint,
      ${lines.map((line) => line.warehouseId)}::text[], ${lines.map((line) => line.sku)}::text[], ${lines.map((line) => line.quantity)}::bigint[])`.execute(db);
  } catch (error) {
    const failure = error as { code?: string; message?: string };
    if (failure.code === 'DT409') throw new LineDoesNotFit(Number(failure.message));
    throw error;
  }
}

/**
 * Takes a checkout hold: all lines or none. Availability is proved by the same statement (SQLite:
 * conditional update in one transaction; PostgreSQL: one server-side function under the row lock)
 * that takes it, never by a read followed by a write across round trips. A lost race against another
 * checkout re-allocates from fresh availability, a bounded number of times.
 */
export async function reserveHold(
  db: Kysely<Database>,
  dialect: Dialect,
  request: ReserveRequest,
  context: { clientId: string; nowMs: number; destination?: GeoPoint },
): Promise<HoldView> {
  const { nowMs } = context;
  const expiresAt = nowMs + (request.ttlSeconds ?? limits.holdTtlSecondsDefault) * 1000;
  const known = await db.selectFrom('variants').select('sku').where('sku', 'in', request.lines.map((line) => line.sku)).execute();
  const knownSkus = new Set(known.map((row) => row.sku));
  const unknown = request.lines.find((line) => !knownSkus.has(line.sku));
  if (unknown) throw new ApiError(404, 'unknown_sku', `${unknown.sku} is not in the catalog`, { sku: unknown.sku });

  for (let attempt = 1; ; attempt++) {
    const availability = await readAvailability(db, request.lines.map((line) => line.sku), request.warehouseId, nowMs);
    const allocated = await allocate(db, request.lines, availability, context.destination);
    if (allocated instanceof ApiError) throw allocated;
    // A fixed lock order (warehouse, sku) keeps two multi-line holds from deadlocking.
    const lines = [...allocated].sort((a, b) => (a.warehouseId + a.sku < b.warehouseId + b.sku ? -1 : 1));
    const id = newId();
    try {
      if (dialect === 'postgres') await reservePostgres(db, id, context.clientId, lines, nowMs, expiresAt);
      else await reserveSqlite(db, id, context.clientId, lines, nowMs, expiresAt);
      return {
        id,
        status: 'active',
        expiresAt: new Date(expiresAt).toISOString(),
        createdAt: new Date(nowMs).toISOString(),
        lines: request.lines.flatMap((line) => allocated.filter((l) => l.sku === line.sku)),
      };
    } catch (error) {
      if (!(error instanceof LineDoesNotFit)) throw error;
      const line = lines[error.index] as Line;
      if (request.warehouseId !== undefined || attempt >= limits.holdReserveAttemptsMax) {
        const fresh = await readAvailability(db, [line.sku], line.warehouseId, nowMs);
        throw insufficient(line, fresh.get(line.warehouseId)?.get(line.sku) ?? 0);
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
    status: holdStatusAt(hold.status as 'active' | 'released' | 'converted', Number(hold.expires_at), nowMs),
    expiresAt: new Date(Number(hold.expires_at)).toISOString(),
    createdAt: new Date(Number(hold.created_at)).toISOString(),
    lines: lines.map((line) => ({ sku: line.sku, quantity: Number(line.quantity), warehouseId: line.warehouse_id })),
  };
}

export async function getHold(db: Kysely<Database>, id: string, clientId: string | '*', nowMs: number): Promise<HoldView> {
  const loaded = await loadHold(db, id);
  if (!loaded || (clientId !== '*' && loaded.hold.client_id !== clientId)) throw notFound('hold');
  return toView(loaded, nowMs);
}

/**
 * Gives a hold's units back at once. Releasing twice answers the same; a hold that became an
 * order's allocation cannot be released (409). Each partition is locked before its lines, the order
 * every writer uses.
 */
export async function releaseHold(db: Kysely<Database>, dialect: Dialect, id: string, clientId: string | '*', nowMs: number): Promise<HoldView> {
  await db.transaction().execute(async (trx) => {
    let holdQuery = trx.selectFrom('holds').selectAll().where('id', '=', id);
    if (dialect === 'postgres') holdQuery = holdQuery.forUpdate();
    const hold = await holdQuery.executeTakeFirst();
    if (!hold || (clientId !== '*' && hold.client_id !== clientId)) throw notFound('hold');
    if (hold.status === 'converted') throw conflict('hold_converted', 'this hold became an order; cancel the order instead');
    if (hold.status === 'released') return;
    const lines = await trx.selectFrom('hold_lines').selectAll().where('hold_id', '=', id).orderBy('warehouse_id').orderBy('sku').execute();
    for (const line of lines) {
      if (dialect === 'postgres') {
        await sql`select 1 from stock_partitions where warehouse_id = ${line.warehouse_id} and sku = ${line.sku} for update`.execute(trx);
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
    await trx.updateTable('holds').set({ status: 'released', released_at: nowMs }).where('id', '=', id).execute();
  });
  return getHold(db, id, clientId, nowMs);
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
        await sql`select 1 from stock_partitions where warehouse_id = ${partition.warehouse_id} and sku = ${partition.sku} for update`.execute(trx);
      }
      await settleExpired(trx, partition.warehouse_id, partition.sku, nowMs);
    });
  }
  return partitions.length;
}
