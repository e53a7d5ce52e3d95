import { type FulfillmentFact, type OrderEvent, type OrderStatus, transitionOrder } from '@dovetail/shared';
import type { Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { lockPartition } from '../inventory/lock.ts';
import { appendHistory, statusAt } from '../orders/service.ts';
import { applyRelease } from './shortage.ts';

type Dialect = 'sqlite' | 'postgres';
export type FactRefusal = { reason: 'unknown_fulfillment' | 'fulfillment_state_conflict'; message: string };

/**
 * Applies one fact an edge reported about a fulfillment order it owns (issue 5), inside the push's
 * transaction, so the fact, the stock events around it and the stream's ack commit together.
 *
 * - packed: the fulfillment is packed; the order moves to (partially_)packed.
 * - shipped: its allocations are shipped and leave `committed` (the `ship` stock events before it in
 *   the same stream already took the units off `on_hand`, so available never rises in between); a
 *   shipment is recorded; the order moves to (partially_)shipped.
 * - canceled: the cancel request was accepted; its allocations are released from `committed`; once
 *   every warehouse answered, the order is canceled (or stays `return_requested` if one refused).
 * - cancel_refused: the goods had shipped; physical fact wins and the order asks for a return.
 * - released: the answer to a shortage's release request (orders/shortage.ts): the released units
 *   are re-routed to another warehouse or backordered; the order's status does not change (unless it
 *   was being canceled and this emptied the last fulfillment order that had to answer).
 *
 * The order moves by the one transition table in shared/; a fact the table does not let move the
 * order (a late fact for a terminal order) is still recorded on the fulfillment.
 */
export async function applyFulfillmentFact(
  trx: Transaction<Database>,
  dialect: Dialect,
  warehouseId: string,
  fact: FulfillmentFact,
  nowMs: number,
): Promise<FactRefusal | undefined> {
  const fulfillment = await trx
    .selectFrom('fulfillments')
    .selectAll()
    .where('id', '=', fact.fulfillmentId)
    .executeTakeFirst();
  if (!fulfillment || fulfillment.warehouse_id !== warehouseId) {
    return {
      reason: 'unknown_fulfillment',
      message: `fulfillment order ${fact.fulfillmentId} was not sent to warehouse ${warehouseId}`,
    };
  }
  // Lock the order before partitions: the order's own writers (payment, cancel) take the same order.
  let orderQuery = trx.selectFrom('orders').selectAll().where('id', '=', fulfillment.order_id);
  if (dialect === 'postgres') orderQuery = orderQuery.forUpdate();
  const order = await orderQuery.executeTakeFirstOrThrow();
  const closed = fulfillment.status === 'shipped' || fulfillment.status === 'canceled';
  let event: OrderEvent | undefined;
  let note: string;

  switch (fact.type) {
    case 'fulfillment_packed': {
      if (closed) return conflictWith(fulfillment.status, fact.type);
      await trx
        .updateTable('fulfillments')
        .set({ status: 'packed', packages_json: JSON.stringify(fact.packages) })
        .where('id', '=', fulfillment.id)
        .execute();
      event = (await everyActive(trx, order.id, ['packed', 'shipped'])) ? 'all_packed' : 'some_packed';
      note = `${warehouseId} packed ${fact.packages.length} parcel(s)`;
      break;
    }
    case 'fulfillment_shipped': {
      if (closed) return conflictWith(fulfillment.status, fact.type);
      await releaseAllocations(trx, dialect, fulfillment.id, 'shipped');
      await trx.updateTable('fulfillments').set({ status: 'shipped' }).where('id', '=', fulfillment.id).execute();
      await trx
        .insertInto('shipments')
        .values({
          id: fact.shipmentId,
          order_id: order.id,
          fulfillment_id: fulfillment.id,
          warehouse_id: warehouseId,
          carrier: fact.carrier,
          tracking_number: fact.trackingNumber,
          packages_json: fulfillment.packages_json ?? '[]',
          lines_json: JSON.stringify(fact.lines),
          status: 'in_transit',
          shipped_at: fact.atMs,
          created_at: nowMs,
        })
        .execute();
      event = (await everyActive(trx, order.id, ['shipped'])) ? 'all_shipped' : 'some_shipped';
      note = `${warehouseId} shipped with ${fact.carrier} ${fact.trackingNumber}`;
      break;
    }
    case 'fulfillment_canceled': {
      if (fulfillment.status === 'shipped') return conflictWith(fulfillment.status, fact.type);
      await releaseAllocations(trx, dialect, fulfillment.id, 'released');
      await trx
        .updateTable('fulfillments')
        .set({ status: 'canceled', cancel_state: 'accepted' })
        .where('id', '=', fulfillment.id)
        .execute();
      event = (await everyAnswered(trx, order.id)) ? 'cancel_accepted' : undefined;
      note = `${warehouseId} accepted the cancel request and released its units`;
      break;
    }
    case 'fulfillment_cancel_refused': {
      await trx.updateTable('fulfillments').set({ cancel_state: 'refused' }).where('id', '=', fulfillment.id).execute();
      event = 'cancel_rejected_shipped';
      note = `${warehouseId} refused to cancel: the goods had already shipped; a return is needed`;
      break;
    }
    case 'fulfillment_released': {
      const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
      const outcome = await applyRelease(trx, dialect, order, fulfillment, fact, status, nowMs);
      if ('reason' in outcome) return outcome;
      event = outcome.releasedWhileCanceling && (await everyAnswered(trx, order.id)) ? 'cancel_accepted' : undefined;
      note = outcome.note;
      break;
    }
  }

  const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const next = event === undefined ? undefined : transitionOrder(from, event);
  const to = next?.ok ? next.status : from;
  if (to !== from)
    await trx.updateTable('orders').set({ status: to, updated_at: nowMs }).where('id', '=', order.id).execute();
  await appendHistory(trx, order.id, next?.ok ? (event as string) : fact.type, from, to, nowMs, note);
  return undefined;
}

function conflictWith(status: string, type: FulfillmentFact['type']): FactRefusal {
  return {
    reason: 'fulfillment_state_conflict',
    message: `the hub has this fulfillment order as ${status}; ${type} does not apply`,
  };
}

/**
 * A `ship` stock event of a fulfillment order: the units left the building, so they leave
 * `committed` in the same transaction that takes them off `on_hand` (available unchanged). Waiting
 * for the `fulfillment_shipped` fact behind it — possibly in the next push — would leave committed
 * above on_hand for a moment, which shortage detection would take for lost stock. The rows stay
 * `committed` (with `shipping` counting what left) until the fact closes them.
 */
export async function noteShipping(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  fulfillmentId: string,
  quantity: number,
): Promise<void> {
  const rows = await trx
    .selectFrom('allocations')
    .select(['id', 'quantity', 'shipping'])
    .where('fulfillment_id', '=', fulfillmentId)
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .where('status', '=', 'committed')
    .orderBy('id')
    .execute();
  let left = quantity;
  for (const row of rows) {
    const take = Math.min(left, Number(row.quantity) - Number(row.shipping));
    if (take <= 0) continue;
    await trx
      .updateTable('allocations')
      .set((eb) => ({ shipping: eb('shipping', '+', take) }))
      .where('id', '=', row.id)
      .execute();
    left -= take;
    if (left === 0) break;
  }
  const moved = quantity - left;
  if (moved > 0) {
    await trx
      .updateTable('stock_partitions')
      .set((eb) => ({ committed: eb('committed', '-', moved) }))
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', sku)
      .execute();
  }
}

/**
 * Takes a fulfillment's open allocations out of `committed`, each partition under its lock (in the
 * (warehouse, sku) order every writer uses), and marks them `shipped` or `released`.
 */
async function releaseAllocations(
  trx: Transaction<Database>,
  dialect: Dialect,
  fulfillmentId: string,
  status: 'shipped' | 'released',
) {
  const open = await trx
    .selectFrom('allocations')
    .selectAll()
    .where('fulfillment_id', '=', fulfillmentId)
    .where('status', '=', 'committed')
    .orderBy('warehouse_id')
    .orderBy('sku')
    .execute();
  for (const allocation of open) {
    await lockPartition(trx, dialect, allocation.warehouse_id, allocation.sku);
    // Units whose `ship` events came first already left `committed` (see noteShipping).
    const stillCommitted = Number(allocation.quantity) - Number(allocation.shipping);
    await trx
      .updateTable('stock_partitions')
      .set((eb) => ({ committed: eb('committed', '-', stillCommitted) }))
      .where('warehouse_id', '=', allocation.warehouse_id)
      .where('sku', '=', allocation.sku)
      .execute();
    await trx.updateTable('allocations').set({ status }).where('id', '=', allocation.id).execute();
  }
}

/**
 * True when every fulfillment of the order that is not canceled has one of `statuses`, and no units
 * wait backordered (those are neither packed nor shipped: the order is only partially so).
 */
async function everyActive(trx: Transaction<Database>, orderId: string, statuses: string[]): Promise<boolean> {
  const backordered = await trx
    .selectFrom('allocations')
    .select('id')
    .where('order_id', '=', orderId)
    .where('status', '=', 'backordered')
    .executeTakeFirst();
  if (backordered) return false;
  const rows = await trx
    .selectFrom('fulfillments')
    .select('status')
    .where('order_id', '=', orderId)
    .where('status', '!=', 'canceled')
    .execute();
  return rows.length > 0 && rows.every((row) => statuses.includes(row.status));
}

/** True when every warehouse asked to cancel has answered (accepted or refused). */
async function everyAnswered(trx: Transaction<Database>, orderId: string): Promise<boolean> {
  const rows = await trx.selectFrom('fulfillments').select('cancel_state').where('order_id', '=', orderId).execute();
  return rows.every((row) => row.cancel_state !== 'requested');
}
