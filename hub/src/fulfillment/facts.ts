import {
  type AllocationStatus,
  type FulfillmentFact,
  type FulfillmentOrderEvent,
  type FulfillmentOrderStatus,
  type OrderEvent,
  type OrderStatus,
  type Package,
  asFulfillmentOrderStatus,
  transitionAllocation,
  transitionFulfillmentCancel,
  transitionFulfillmentOrder,
  transitionOrder,
  unshippedFinalFulfillmentOrderStatuses,
} from '@dovetail/shared';
import type { Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { lockPartition } from '../inventory/lock.ts';
import { appendHistory, statusAt } from '../orders/service.ts';
import type { FulfillmentsTable, OrdersTable } from '../orders/tables.ts';
import { emitOrderTransition } from '../webhooks/domain-events.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import { applyRelease } from './shortage.ts';

type Dialect = 'sqlite' | 'postgres';
type Order = Selectable<OrdersTable>;
type Fulfillment = Selectable<FulfillmentsTable>;
export type FactRefusal = { reason: 'unknown_fulfillment' | 'fulfillment_state_conflict'; message: string };

/**
 * What one step of a fulfillment order did (the same steps whether an edge reported it as a fact or
 * a 3PL called the API): the order event it reports, if any, and the note for the order's history.
 */
export type StepOutcome = { event?: OrderEvent; note: string };
/** A step the shared tables do not allow from where the fulfillment order stands; nothing was written. */
export type StepRefusal = {
  refused: true;
  status: FulfillmentOrderStatus;
  cancelState: string | null;
  event: FulfillmentOrderEvent;
};

/**
 * Applies one fact an edge reported about a fulfillment order it owns, inside the push's
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
 * The fulfillment order moves by the shared tables (domain/fulfillment/transitions.ts); a fact they
 * do not allow is refused durably as `fulfillment_state_conflict`. The order moves by its own table;
 * a fact the table does not let move the order (a late fact for a terminal order) is still recorded.
 * A 3PL's REST calls (fulfillment-orders.ts) run the same steps.
 */
export async function applyFulfillmentFact(
  trx: Transaction<Database>,
  dialect: Dialect,
  warehouseId: string,
  fact: FulfillmentFact,
  nowMs: number,
): Promise<FactRefusal | undefined> {
  const locked = await lockFulfillment(trx, dialect, fact.fulfillmentId);
  if (!locked || locked.fulfillment.warehouse_id !== warehouseId) {
    return {
      reason: 'unknown_fulfillment',
      message: `fulfillment order ${fact.fulfillmentId} was not sent to warehouse ${warehouseId}`,
    };
  }
  const { order, fulfillment } = locked;
  let outcome: StepOutcome | StepRefusal;

  switch (fact.type) {
    case 'fulfillment_packed':
      outcome = await packStep(trx, order, fulfillment, fact.packages);
      break;
    case 'fulfillment_shipped':
      outcome = await shipStep(
        trx,
        dialect,
        order,
        fulfillment,
        {
          id: fact.shipmentId,
          carrier: fact.carrier,
          trackingNumber: fact.trackingNumber,
          lines: fact.lines,
          shippedAtMs: fact.atMs,
        },
        true,
        nowMs,
      );
      break;
    case 'fulfillment_canceled':
      outcome = await cancelAcceptedStep(trx, dialect, order, fulfillment);
      break;
    case 'fulfillment_cancel_refused':
      outcome = await cancelRefusedStep(
        trx,
        fulfillment,
        `${warehouseId} refused to cancel: the goods had already shipped; a return is needed`,
      );
      break;
    case 'fulfillment_released': {
      const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
      const released = await applyRelease(trx, dialect, order, fulfillment, fact, status, nowMs);
      if ('reason' in released) return released;
      outcome = {
        event: released.releasedWhileCanceling && (await everyAnswered(trx, order.id)) ? 'cancel_accepted' : undefined,
        note: released.note,
      };
      break;
    }
  }
  if ('refused' in outcome) {
    return {
      reason: 'fulfillment_state_conflict',
      message: `the hub has this fulfillment order as ${outcome.status}; ${fact.type} does not apply`,
    };
  }
  await settleOrder(trx, order, outcome, fact.type, nowMs);
  return undefined;
}

/**
 * A fulfillment order and its order, the order locked first (its other writers — payment, cancel —
 * take the same order) and the fulfillment order read again under that lock, so a step decides from
 * what no concurrent step can change before it commits.
 */
export async function lockFulfillment(
  trx: Transaction<Database>,
  dialect: Dialect,
  fulfillmentId: string,
): Promise<{ order: Order; fulfillment: Fulfillment } | undefined> {
  const found = await trx
    .selectFrom('fulfillments')
    .select('order_id')
    .where('id', '=', fulfillmentId)
    .executeTakeFirst();
  if (!found) return undefined;
  let orderQuery = trx.selectFrom('orders').selectAll().where('id', '=', found.order_id);
  if (dialect === 'postgres') orderQuery = orderQuery.forUpdate();
  const order = await orderQuery.executeTakeFirstOrThrow();
  const fulfillment = await trx
    .selectFrom('fulfillments')
    .selectAll()
    .where('id', '=', fulfillmentId)
    .executeTakeFirstOrThrow();
  return { order, fulfillment };
}

/**
 * Moves the order by `outcome.event` through the shared order table and records the step in its
 * history; an order that has just become `shipped` is announced (`order.shipped`, to the storefront
 * that placed it and admins) with every shipment, in the same transaction.
 */
export async function settleOrder(
  trx: Transaction<Database>,
  order: Order,
  outcome: StepOutcome,
  label: string,
  nowMs: number,
): Promise<void> {
  const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const next = outcome.event === undefined ? undefined : transitionOrder(from, outcome.event);
  const to = next?.ok ? next.status : from;
  if (to !== from)
    await trx.updateTable('orders').set({ status: to, updated_at: nowMs }).where('id', '=', order.id).execute();
  const event = next?.ok ? (outcome.event as string) : label;
  await appendHistory(trx, order.id, event, from, to, nowMs, outcome.note);
  await emitOrderTransition(trx, { orderId: order.id, event, from, to, note: outcome.note }, nowMs, ['order.shipped']);
}

/** The refusal of `event` from where the fulfillment order stands. */
export function refusal(fulfillment: Fulfillment, event: FulfillmentOrderEvent): StepRefusal {
  return {
    refused: true,
    status: asFulfillmentOrderStatus(fulfillment.status),
    cancelState: fulfillment.cancel_state,
    event,
  };
}

/** The fulfillment order's next status by the shared table, or undefined when it does not allow `event`. */
export function nextStatus(fulfillment: Fulfillment, event: FulfillmentOrderEvent): FulfillmentOrderStatus | undefined {
  const next = transitionFulfillmentOrder(asFulfillmentOrderStatus(fulfillment.status), event);
  return next.ok ? next.status : undefined;
}

/** An edge packed the order. */
async function packStep(
  trx: Transaction<Database>,
  order: Order,
  fulfillment: Fulfillment,
  packages: Package[],
): Promise<StepOutcome | StepRefusal> {
  const status = nextStatus(fulfillment, 'pack');
  if (!status) return refusal(fulfillment, 'pack');
  await trx
    .updateTable('fulfillments')
    .set({ status, packages_json: JSON.stringify(packages) })
    .where('id', '=', fulfillment.id)
    .execute();
  return {
    event: (await everyActive(trx, order.id, ['packed', 'shipped'])) ? 'all_packed' : 'some_packed',
    note: `${fulfillment.warehouse_id} packed ${packages.length} parcel(s)`,
  };
}

export type ShipmentRecord = {
  id: string;
  carrier: string;
  trackingNumber: string;
  lines: ReadonlyArray<{ sku: string; quantity: number }>;
  shippedAtMs: number;
};

/**
 * Units of the order left with a carrier: the shipment is recorded (and announced as the webhook
 * event `shipment.created`) and the order moves to
 * (partially_)shipped. `complete` when nothing is left to ship on this fulfillment order (an edge
 * ships it whole; a 3PL may ship in parts): its allocations are then closed as shipped, taking what
 * is still counted out of `committed` (units already taken off by `noteShipping` are not counted
 * twice). The units left `on_hand` before this step: an edge's `ship` stock events, or the 3PL path.
 */
export async function shipStep(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  fulfillment: Fulfillment,
  shipment: ShipmentRecord,
  complete: boolean,
  nowMs: number,
): Promise<StepOutcome | StepRefusal> {
  const event: FulfillmentOrderEvent = complete ? 'ship_all' : 'ship_some';
  const status = nextStatus(fulfillment, event);
  if (!status) return refusal(fulfillment, event);
  if (complete) await closeAllocations(trx, dialect, fulfillment.id, 'ship');
  await trx.updateTable('fulfillments').set({ status }).where('id', '=', fulfillment.id).execute();
  await trx
    .insertInto('shipments')
    .values({
      id: shipment.id,
      order_id: order.id,
      fulfillment_id: fulfillment.id,
      warehouse_id: fulfillment.warehouse_id,
      carrier: shipment.carrier,
      tracking_number: shipment.trackingNumber,
      packages_json: fulfillment.packages_json ?? '[]',
      lines_json: JSON.stringify(shipment.lines),
      status: 'in_transit',
      shipped_at: shipment.shippedAtMs,
      created_at: nowMs,
    })
    .execute();
  await emitWebhookEvent(trx, {
    type: 'shipment.created',
    data: {
      id: shipment.id,
      orderId: order.id,
      orderNumber: order.number,
      fulfillmentOrderId: fulfillment.id,
      warehouseId: fulfillment.warehouse_id,
      carrier: shipment.carrier,
      trackingNumber: shipment.trackingNumber,
      status: 'in_transit',
      lines: shipment.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
      shippedAt: new Date(shipment.shippedAtMs).toISOString(),
    },
    warehouseId: fulfillment.warehouse_id,
    nowMs,
  });
  return {
    event: (await everyActive(trx, order.id, ['shipped'])) ? 'all_shipped' : 'some_shipped',
    note: `${fulfillment.warehouse_id} shipped with ${shipment.carrier} ${shipment.trackingNumber}`,
  };
}

/**
 * The warehouse accepted the cancel request: nothing had left, so its allocations are released from
 * `committed`; once every warehouse asked has answered, the order is canceled.
 */
export async function cancelAcceptedStep(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  fulfillment: Fulfillment,
): Promise<StepOutcome | StepRefusal> {
  const status = nextStatus(fulfillment, 'cancel');
  const answer = transitionFulfillmentCancel(fulfillment.cancel_state, 'accept');
  if (!status || !answer.ok) return refusal(fulfillment, 'cancel');
  await closeAllocations(trx, dialect, fulfillment.id, 'release');
  await trx
    .updateTable('fulfillments')
    .set({ status, cancel_state: answer.state })
    .where('id', '=', fulfillment.id)
    .execute();
  return {
    event: (await everyAnswered(trx, order.id)) ? 'cancel_accepted' : undefined,
    note: `${fulfillment.warehouse_id} accepted the cancel request and released its units`,
  };
}

/** The warehouse refused the cancel request because goods had shipped: physical fact wins, the order asks for a return. */
export async function cancelRefusedStep(
  trx: Transaction<Database>,
  fulfillment: Fulfillment,
  note: string,
): Promise<StepOutcome | StepRefusal> {
  const status = nextStatus(fulfillment, 'refuse_cancel');
  const answer = transitionFulfillmentCancel(fulfillment.cancel_state, 'refuse');
  if (!status || !answer.ok) return refusal(fulfillment, 'refuse_cancel');
  await trx
    .updateTable('fulfillments')
    .set({ status, cancel_state: answer.state })
    .where('id', '=', fulfillment.id)
    .execute();
  return { event: 'cancel_rejected_shipped', note };
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
 * (warehouse, sku) order every writer uses), and moves them by `event` of the shared allocation table.
 */
async function closeAllocations(
  trx: Transaction<Database>,
  dialect: Dialect,
  fulfillmentId: string,
  event: 'ship' | 'release',
) {
  const committed: AllocationStatus = 'committed';
  const status = transitionAllocation(committed, event);
  const open = await trx
    .selectFrom('allocations')
    .selectAll()
    .where('fulfillment_id', '=', fulfillmentId)
    .where('status', '=', committed)
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
 * True when every fulfillment of the order that still counts (not canceled or rejected) has one of
 * `statuses`, and no units wait backordered (those are neither packed nor shipped: the order is only
 * partially so).
 */
async function everyActive(
  trx: Transaction<Database>,
  orderId: string,
  statuses: FulfillmentOrderStatus[],
): Promise<boolean> {
  const backordered = await trx
    .selectFrom('allocations')
    .select('id')
    .where('order_id', '=', orderId)
    .where('status', '=', 'backordered')
    .executeTakeFirst();
  if (backordered) return false;
  // Units still waiting for supply (a pre-order's purchase order, production) are not packed or shipped yet.
  const waiting = await trx
    .selectFrom('supply_promises')
    .select('id')
    .where('order_id', '=', orderId)
    .where('status', '=', 'waiting')
    .executeTakeFirst();
  if (waiting) return false;
  const rows = await trx
    .selectFrom('fulfillments')
    .select('status')
    .where('order_id', '=', orderId)
    .where('status', 'not in', unshippedFinalFulfillmentOrderStatuses)
    .execute();
  return rows.length > 0 && rows.every((row) => (statuses as string[]).includes(row.status));
}

/** True when every warehouse asked to cancel has answered (accepted or refused). */
export async function everyAnswered(trx: Transaction<Database>, orderId: string): Promise<boolean> {
  const rows = await trx.selectFrom('fulfillments').select('cancel_state').where('order_id', '=', orderId).execute();
  return rows.every((row) => row.cancel_state !== 'requested');
}
