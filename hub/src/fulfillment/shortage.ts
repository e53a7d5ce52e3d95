import { badRequest } from '@dovetail/shared';
import {
  type CandidateWarehouse,
  type FulfillmentFact,
  type GeoPoint,
  type OrderStatus,
  allocationStrategies,
  asFulfillmentOrderStatus,
  assert,
  defaultAllocationStrategyName,
  limits,
  newId,
  transitionAllocation,
  transitionFulfillmentCancel,
  transitionFulfillmentOrder,
  warehouseChannel,
} from '@dovetail/shared';
import { type Kysely, type Selectable, type Transaction, sql } from 'kysely';
import { availableSql as availableAt } from '../db/available.ts';
import type { Database } from '../database.ts';
import { vaultOf } from '../db/personal-data.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { openFulfillmentOrder } from '../orders/dispatch.ts';
import type { FulfillmentsTable, OrdersTable } from '../orders/tables.ts';
import { compareLockOrder } from '../holds/plan.ts';
import { lockPartition } from '../inventory/lock.ts';
import type { AllocationsTable } from './shortage-tables.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';

/**
 * Physical loss (docs/architecture.md, "Quantities"): a damage or a low count is reality, not a race, and may
 * leave a partition's `committed` above what is physically sellable there. The hub then asks the
 * warehouse's edge, which owns the fulfillment orders (docs/architecture.md, "Ownership"), to release units of the newest
 * allocations, and records an `inventory.shortage` event. The edge releases what it has not picked
 * and answers `fulfillment_released`; the released units are committed at another warehouse that
 * can prove `available ≥ qty` in the same statement that takes them, or become backordered.
 */

type Dialect = 'sqlite' | 'postgres';
type Order = Selectable<OrdersTable>;
type Fulfillment = Selectable<FulfillmentsTable>;

export const inventoryEventTypes = ['inventory.shortage'] as const;
export type InventoryEventType = (typeof inventoryEventTypes)[number];

/**
 * Fulfillment orders one shortage asks at most. More units short than that many allocations hold are
 * asked for by the next stock event at the partition (open requests are subtracted, so none twice).
 * Kept here rather than in shared/limits.ts: only this module uses it, and that file is not this change's.
 */
const releaseRequestsPerShortageMax = 100;
assert(releaseRequestsPerShortageMax <= limits.pageSizeMax, 'a shortage event lists its release requests whole');

/**
 * Why a release answer is refused: the protocol's existing codes (its rejection reasons are a closed
 * list in shared/; an unknown request is reported as the fulfillment order not knowing it).
 */
export type ReleaseRefusal = { reason: 'unknown_fulfillment' | 'fulfillment_state_conflict'; message: string };

// ---------------------------------------------------------------------------------------------
// Detection: inside the push's transaction, after a stock event changed the partition.
// ---------------------------------------------------------------------------------------------

/**
 * Called by applyPush after a stock event was folded into the replica of `(warehouseId, sku)`, in
 * the same transaction (the partition's row is already written, so on PostgreSQL already locked).
 *
 * shortfall = committed − (on_hand − damaged − quality_control) − units already on their way out
 * of `committed` (open release requests, and open cancel requests the edge has not answered). When
 * positive, the newest allocations (last paid first) whose fulfillment order is still `requested`
 * are asked to release up to the shortfall, one `fulfillment.release_requested` per fulfillment
 * order; a fulfillment that already answered a request for this SKU short (it had picked) is not
 * asked again. Idempotent: a replayed push is deduplicated by event id before it gets here, and
 * the open requests keep a later event from asking for the same units again.
 */
export async function detectShortage(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  nowMs: number,
  /** The partition's row as the caller just wrote it (`RETURNING`), so it is not read again. */
  written?: { on_hand: number; damaged: number; quality_control: number; committed: number },
): Promise<void> {
  const partition =
    written ??
    (await trx
      .selectFrom('stock_partitions')
      .select(['on_hand', 'damaged', 'quality_control', 'committed'])
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', sku)
      .executeTakeFirst());
  if (!partition) return;
  const onHand = Number(partition.on_hand);
  const damaged = Number(partition.damaged);
  const qualityControl = Number(partition.quality_control);
  const committed = Number(partition.committed);
  const sellable = onHand - damaged - qualityControl;
  const excess = committed - sellable;
  if (excess <= 0) return;

  const open = await trx
    .selectFrom('release_requests')
    .select((eb) => eb.fn.sum<number>('quantity').as('units'))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .where('status', '=', 'open')
    .executeTakeFirst();
  const leaving = await trx
    .selectFrom('allocations as a')
    .innerJoin('fulfillments as f', 'f.id', 'a.fulfillment_id')
    .select(sql<number>`sum(a.quantity - a.shipping)`.as('units'))
    .where('a.warehouse_id', '=', warehouseId)
    .where('a.sku', '=', sku)
    .where('a.status', '=', 'committed')
    .where('f.cancel_state', '=', 'requested')
    .executeTakeFirst();
  const alreadyRequested = Number(open?.units ?? 0) + Number(leaving?.units ?? 0);
  const shortfall = excess - alreadyRequested;
  if (shortfall <= 0) return;

  const candidates = await trx
    .selectFrom('allocations as a')
    .innerJoin('fulfillments as f', 'f.id', 'a.fulfillment_id')
    .innerJoin('orders as o', 'o.id', 'a.order_id')
    .select(['a.id', 'a.order_id', 'a.fulfillment_id', 'a.quantity', 'o.number'])
    .where('a.warehouse_id', '=', warehouseId)
    .where('a.sku', '=', sku)
    .where('a.status', '=', 'committed')
    .where('f.status', '=', 'requested')
    .where('f.cancel_state', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('release_requests as r')
            .select('r.id')
            .whereRef('r.fulfillment_id', '=', 'a.fulfillment_id')
            .where('r.sku', '=', sku)
            .where((eb) => eb.or([eb('r.status', '=', 'open'), eb('r.released', '<', eb.ref('r.quantity'))])),
        ),
      ),
    )
    .orderBy('a.paid_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(releaseRequestsPerShortageMax)
    .execute();

  const asks = new Map<string, { fulfillmentId: string; orderId: string; orderNumber: string; quantity: number }>();
  let remaining = shortfall;
  for (const candidate of candidates) {
    if (remaining === 0) break;
    const quantity = Math.min(remaining, Number(candidate.quantity));
    const ask = asks.get(candidate.fulfillment_id) ?? {
      fulfillmentId: candidate.fulfillment_id,
      orderId: candidate.order_id,
      orderNumber: candidate.number,
      quantity: 0,
    };
    ask.quantity += quantity;
    asks.set(candidate.fulfillment_id, ask);
    remaining -= quantity;
  }
  const requested = shortfall - remaining;

  const figures = {
    onHand,
    damaged,
    qualityControl,
    sellable,
    committed,
    excess,
    alreadyRequested,
    shortfall,
    requested,
    unresolved: remaining,
  };
  if (asks.size === 0) {
    // Nothing more can be asked (every allocation is picked, packed or already asked): say so once,
    // not again on every later movement that leaves the same figures.
    const last = await trx
      .selectFrom('inventory_events')
      .select('payload_json')
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', sku)
      .where('type', '=', 'inventory.shortage')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const previous = last ? (JSON.parse(last.payload_json) as { excess?: number; unresolved?: number }) : undefined;
    if (previous && previous.excess === excess && previous.unresolved === remaining) return;
  }

  const eventId = newId();
  const releaseRequests: Array<{
    requestId: string;
    fulfillmentId: string;
    orderId: string;
    orderNumber: string;
    quantity: number;
  }> = [];
  for (const ask of asks.values()) {
    const requestId = newId();
    await trx
      .insertInto('release_requests')
      .values({
        id: requestId,
        fulfillment_id: ask.fulfillmentId,
        order_id: ask.orderId,
        warehouse_id: warehouseId,
        sku,
        quantity: ask.quantity,
        status: 'open',
        released: null,
        shortage_event_id: eventId,
        created_at: nowMs,
        answered_at: null,
      })
      .execute();
    await appendDownstream(
      trx,
      warehouseChannel(warehouseId),
      'fulfillment.release_requested',
      { fulfillmentId: ask.fulfillmentId, requestId, lines: [{ sku, quantity: ask.quantity }] },
      nowMs,
    );
    releaseRequests.push({ requestId, ...ask });
  }
  await recordInventoryEvent(trx, {
    id: eventId,
    type: 'inventory.shortage',
    warehouseId,
    sku,
    nowMs,
    payload: { ...figures, releaseRequests },
  });
  await emitWebhookEvent(trx, {
    type: 'inventory.shortage',
    data: {
      id: eventId,
      warehouseId,
      sku,
      onHand,
      sellable,
      committed,
      shortfall,
      requested,
      unresolved: remaining,
      releaseRequests: releaseRequests.map((ask) => ({
        fulfillmentOrderId: ask.fulfillmentId,
        orderId: ask.orderId,
        orderNumber: ask.orderNumber,
        quantity: ask.quantity,
      })),
      occurredAt: new Date(nowMs).toISOString(),
    },
    warehouseId,
    nowMs,
  });
}

async function recordInventoryEvent(
  trx: Transaction<Database>,
  event: {
    id: string;
    type: InventoryEventType;
    warehouseId: string;
    sku: string;
    nowMs: number;
    payload: Record<string, unknown>;
  },
): Promise<void> {
  // Self-contained: a webhook receiver gets every figure without calling back.
  const payload = {
    id: event.id,
    type: event.type,
    warehouseId: event.warehouseId,
    sku: event.sku,
    occurredAt: new Date(event.nowMs).toISOString(),
    ...event.payload,
  };
  await trx
    .insertInto('inventory_events')
    .values({
      id: event.id,
      type: event.type,
      warehouse_id: event.warehouseId,
      sku: event.sku,
      payload_json: JSON.stringify(payload),
      created_at: event.nowMs,
    })
    .execute();
}

// ---------------------------------------------------------------------------------------------
// The edge's answer: release, then re-route or backorder.
// ---------------------------------------------------------------------------------------------

/** Order statuses in which released units are committed elsewhere; otherwise (being canceled, returned) they are just released. */
const reroutingStatuses: readonly OrderStatus[] = ['processing', 'partially_packed', 'packed', 'partially_shipped'];

export type ReleaseOutcome = { note: string; releasedWhileCanceling: boolean };

/**
 * Applies `fulfillment_released` (the caller locked the order and checked the fulfillment is this
 * warehouse's). Closes the request; the units released (at most what was asked and what is still
 * committed) are re-routed or backordered by `rerouteReleased`. Released nothing: nothing moves;
 * the shortage stays on record.
 */
export async function applyRelease(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  fulfillment: Fulfillment,
  fact: Extract<FulfillmentFact, { type: 'fulfillment_released' }>,
  orderStatus: OrderStatus,
  nowMs: number,
): Promise<ReleaseRefusal | ReleaseOutcome> {
  const warehouseId = fulfillment.warehouse_id;
  const request = await trx
    .selectFrom('release_requests')
    .selectAll()
    .where('id', '=', fact.requestId)
    .executeTakeFirst();
  if (!request || request.fulfillment_id !== fulfillment.id) {
    return {
      reason: 'unknown_fulfillment',
      message: `release request ${fact.requestId} was not sent for fulfillment order ${fulfillment.id}`,
    };
  }
  if (request.status !== 'open') {
    return { reason: 'fulfillment_state_conflict', message: `release request ${fact.requestId} was already answered` };
  }
  const sku = request.sku;
  const asked = Number(request.quantity);
  // Only the SKU asked for can be released by this request; more than asked is not taken.
  const answered = fact.lines.filter((line) => line.sku === sku).reduce((sum, line) => sum + line.quantity, 0);
  const allocation = await trx
    .selectFrom('allocations')
    .selectAll()
    .where('fulfillment_id', '=', fulfillment.id)
    .where('sku', '=', sku)
    .where('status', '=', 'committed')
    .orderBy('id')
    .executeTakeFirst();
  const released = Math.min(answered, asked, allocation ? Number(allocation.quantity) : 0);
  await trx
    .updateTable('release_requests')
    .set({ status: 'answered', released, answered_at: nowMs })
    .where('id', '=', request.id)
    .execute();
  if (released === 0 || !allocation) {
    return {
      note: `${warehouseId} released none of the ${asked} × ${sku} asked for (already picked or packed): nothing moves; the shortage stays on record`,
      releasedWhileCanceling: false,
    };
  }
  const outcome = await rerouteReleased(trx, dialect, order, allocation, released, orderStatus, nowMs);
  await cancelIfEmpty(trx, fulfillment);
  return {
    note: outcome.rerouting
      ? `shortage at ${warehouseId}: released ${released} × ${sku}; ${outcome.moves}`
      : `${warehouseId} released ${released} × ${sku} while the order is ${orderStatus}: not re-routed`,
    releasedWhileCanceling: outcome.releasedWhileCanceling,
  };
}

/**
 * Takes `released` units of one committed allocation away from its warehouse (a shortage answered,
 * or a 3PL rejecting its fulfillment order); the caller holds the order's lock. The units leave
 * `committed` there under the partition's lock. While the order still ships, they are then taken at
 * other warehouses chosen by the shared allocation strategy from the shipping address, each take
 * proved by a conditional update (available ≥ qty in the same statement), with a new fulfillment order
 * opened and sent to that warehouse (orders/dispatch.ts); what no warehouse can take is backordered
 * (not counted in `committed`). While the order is being canceled or returned they are only released.
 * Every allocation row changes through the shared table.
 */
export async function rerouteReleased(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  allocation: Selectable<AllocationsTable>,
  released: number,
  orderStatus: OrderStatus,
  nowMs: number,
): Promise<{ rerouting: boolean; moves: string; releasedWhileCanceling: boolean }> {
  const warehouseId = allocation.warehouse_id;
  const sku = allocation.sku;
  assert(
    allocation.status === 'committed' &&
      released >= 1 &&
      released <= Number(allocation.quantity) - Number(allocation.shipping),
    'only committed units that have not left are released',
  );
  if (!reroutingStatuses.includes(orderStatus)) {
    await lockPartition(trx, dialect, warehouseId, sku);
    await changeCommitted(trx, warehouseId, sku, -released);
    await splitOff(trx, allocation.id, Number(allocation.quantity), released, 'release');
    return {
      rerouting: false,
      moves: `${released} released (the order is ${orderStatus})`,
      releasedWhileCanceling: orderStatus === 'cancel_requested',
    };
  }

  const destination = (await vaultOf(trx).open<{ location?: GeoPoint }>(trx, order.shipping_json))?.location;
  const taken: Array<{ warehouseId: string; quantity: number; fulfillmentId: string }> = [];
  const tried = new Set<string>([warehouseId]);
  let left = released;
  let shortLocked = false;
  for (let attempt = 1; left > 0 && attempt <= limits.holdReserveAttemptsMax; attempt++) {
    const plan = await planReroute(trx, sku, left, tried, destination, nowMs);
    // Every partition this attempt touches, locked in the one (warehouse, sku) order.
    const partitions = [...(shortLocked ? [] : [warehouseId]), ...plan.map((line) => line.warehouseId)]
      .map((id) => ({ warehouseId: id, sku }))
      .sort(compareLockOrder);
    for (const partition of partitions) await lockPartition(trx, dialect, partition.warehouseId, sku);
    if (!shortLocked) {
      await changeCommitted(trx, warehouseId, sku, -released);
      shortLocked = true;
    }
    if (plan.length === 0) break;
    for (const line of plan) {
      tried.add(line.warehouseId);
      if (!(await commitIfAvailable(trx, line.warehouseId, sku, line.quantity, nowMs))) continue;
      const fulfillmentId = await openFulfillmentOrder(
        trx,
        order,
        line.warehouseId,
        [{ sku, quantity: line.quantity }],
        { paidAtMs: Number(allocation.paid_at), nowMs, reason: 'shortage_reroute' },
      );
      taken.push({ ...line, fulfillmentId });
      left -= line.quantity;
    }
  }
  assert(shortLocked, 'the first attempt always runs and releases the units at the short warehouse');
  const rerouted = released - left;
  let current = Number(allocation.quantity);
  if (rerouted > 0) current = await splitOff(trx, allocation.id, current, rerouted, 'reroute');
  if (left > 0) await splitOff(trx, allocation.id, current, left, 'backorder');

  const moves = taken.map(
    (line) => `${line.quantity} re-routed to ${line.warehouseId} (fulfillment ${line.fulfillmentId})`,
  );
  if (left > 0) moves.push(`${left} backordered (no warehouse has them available)`);
  return { rerouting: true, moves: moves.join('; '), releasedWhileCanceling: false };
}

/**
 * Where `quantity` units of `sku` could go, from availability read without locks (a plan: each take
 * proves availability again). The shared strategy chooses among warehouses not yet tried; when they
 * cannot hold it all, it plans what they can hold and the rest is backordered.
 */
async function planReroute(
  trx: Transaction<Database>,
  sku: string,
  quantity: number,
  excluded: ReadonlySet<string>,
  destination: GeoPoint | undefined,
  nowMs: number,
): Promise<Array<{ warehouseId: string; quantity: number }>> {
  const rows = await trx
    .selectFrom('stock_partitions')
    .innerJoin('warehouses as w', 'w.id', 'stock_partitions.warehouse_id')
    .select([
      'stock_partitions.warehouse_id',
      'w.kind',
      'w.lat',
      'w.lon',
      availableAt('stock_partitions', nowMs).as('available'),
    ])
    .where('stock_partitions.sku', '=', sku)
    .where('stock_partitions.warehouse_id', 'not in', [...excluded])
    .where(availableAt('stock_partitions', nowMs), '>', 0)
    .orderBy('stock_partitions.warehouse_id')
    .limit(limits.allocationWarehousesMax)
    .execute();
  const warehouses: CandidateWarehouse[] = rows.map((row) => ({
    id: row.warehouse_id,
    kind: row.kind as CandidateWarehouse['kind'],
    location: { lat: Number(row.lat), lon: Number(row.lon) },
    available: { [sku]: Number(row.available) },
  }));
  const total = warehouses.reduce((sum, warehouse) => sum + (warehouse.available[sku] ?? 0), 0);
  const wanted = Math.min(quantity, total);
  if (wanted === 0) return [];
  const strategy = allocationStrategies[defaultAllocationStrategyName];
  const result = strategy({ lines: [{ sku, quantity: wanted }], warehouses, ...(destination ? { destination } : {}) });
  assert(result.ok, 'the strategy covers a quantity no larger than what the candidates hold');
  return result.allocations.map((allocation) => ({
    warehouseId: allocation.warehouseId,
    quantity: allocation.lines.reduce((sum, line) => sum + line.quantity, 0),
  }));
}

/** Commits `quantity` at a partition only if it is available now: proved by the statement that takes it. */
export async function commitIfAvailable(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  quantity: number,
  nowMs: number,
): Promise<boolean> {
  const result = await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ committed: eb('committed', '+', quantity), updated_at: nowMs }))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .where(availableAt('stock_partitions', nowMs), '>=', quantity)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function changeCommitted(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  delta: number,
): Promise<void> {
  await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ committed: eb('committed', '+', delta) }))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .execute();
}

/**
 * Moves `quantity` of a committed allocation (holding `current` units) out of `committed` by `event`
 * of the shared table: the whole row when it is all of it, else a new row beside the shrunk one.
 * Answers the units left committed.
 */
async function splitOff(
  trx: Transaction<Database>,
  allocationId: string,
  current: number,
  quantity: number,
  event: 'reroute' | 'backorder' | 'release',
): Promise<number> {
  assert(quantity >= 1 && quantity <= current, `split ${quantity} of ${current}`);
  const status = transitionAllocation('committed', event);
  if (quantity === current) {
    await trx.updateTable('allocations').set({ status }).where('id', '=', allocationId).execute();
    return 0;
  }
  const row = await trx.selectFrom('allocations').selectAll().where('id', '=', allocationId).executeTakeFirstOrThrow();
  await trx
    .updateTable('allocations')
    .set({ quantity: current - quantity })
    .where('id', '=', allocationId)
    .execute();
  await trx
    .insertInto('allocations')
    .values({ ...row, id: newId(), quantity, status })
    .execute();
  return current - quantity;
}

/**
 * A fulfillment order left with nothing committed is canceled at the hub (the edge cancels its own
 * copy too), when the shared table lets it (`all_released`: only before it was packed or shipped).
 */
async function cancelIfEmpty(trx: Transaction<Database>, fulfillment: Fulfillment): Promise<void> {
  const open = await trx
    .selectFrom('allocations')
    .select('id')
    .where('fulfillment_id', '=', fulfillment.id)
    .where('status', '=', 'committed')
    .executeTakeFirst();
  const next = transitionFulfillmentOrder(asFulfillmentOrderStatus(fulfillment.status), 'all_released');
  if (open || !next.ok) return;
  // A cancel request still open for it is moot: the edge will answer it `already`, i.e. not at all.
  const moot = transitionFulfillmentCancel(fulfillment.cancel_state, 'accept');
  await trx
    .updateTable('fulfillments')
    .set({ status: next.status, ...(moot.ok ? { cancel_state: moot.state } : {}) })
    .where('id', '=', fulfillment.id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Listing: `GET /inventory-events`.
// ---------------------------------------------------------------------------------------------

export type InventoryEventView = {
  id: string;
  type: string;
  warehouseId: string;
  sku: string;
  payload: Record<string, unknown>;
  createdAt: string;
};

/** Inventory events oldest first, paged by id, only those of the warehouses in `scope`. */
export async function listInventoryEvents(
  db: Kysely<Database>,
  filters: { type?: InventoryEventType; warehouseId?: string; cursor?: string; limit: number },
  scope: readonly string[] | '*',
): Promise<{ items: InventoryEventView[]; nextCursor: string | null }> {
  assert(filters.limit >= 1 && filters.limit <= limits.pageSizeMax, 'page size within bounds');
  const after = decodeCursor(filters.cursor);
  if (filters.cursor !== undefined && after === undefined) {
    throw badRequest('invalid_input', 'invalid cursor', {
      issues: [{ path: 'cursor', message: 'not a cursor', code: 'invalid_string' }],
    });
  }
  let query = db.selectFrom('inventory_events').selectAll();
  if (scope !== '*') query = query.where('warehouse_id', 'in', scope.length > 0 ? [...scope] : ['']);
  if (filters.warehouseId) query = query.where('warehouse_id', '=', filters.warehouseId);
  if (filters.type) query = query.where('type', '=', filters.type);
  if (after) query = query.where('id', '>', after);
  const rows = await query
    .orderBy('id')
    .limit(filters.limit + 1)
    .execute();
  const page = rows.slice(0, filters.limit);
  return {
    items: page.map((row) => ({
      id: row.id,
      type: row.type,
      warehouseId: row.warehouse_id,
      sku: row.sku,
      payload: JSON.parse(row.payload_json) as Record<string, unknown>,
      createdAt: new Date(Number(row.created_at)).toISOString(),
    })),
    nextCursor: rows.length > filters.limit ? encodeCursor((page.at(-1) as { id: string }).id) : null,
  };
}
