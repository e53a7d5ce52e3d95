import { randomBytes } from 'node:crypto';
import {
  type Address,
  type AllocationStatus,
  type Configuration,
  type Customer,
  checkOrderPatch,
  conflict,
  DomainError,
  expiringStatusAt,
  type FulfillmentOrderStatus,
  formatOrderNumber,
  fulfillmentOrderStatusesAllowing,
  newId,
  notFound,
  type OrderCreate,
  type OrderEvent,
  type OrderPatch,
  type OrderStatus,
  type PriceBreakdown,
  type StaffSettableOrderStatus,
  type StoredFulfillmentCancelState,
  staffOrderStatusEvents,
  staffTransition,
  transitionAllocation,
  transitionOrder,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { openAddress, openCustomer, sealOrderFields } from './personal.ts';
import { reserveSuppliedHold } from '../holds/supply.ts';
import { releaseHold } from '../holds/service.ts';
import { lockPartition } from '../inventory/lock.ts';
import { recordOrderNotifications } from '../notifications/record.ts';
import { emitOrderTransition } from '../webhooks/domain-events.ts';
import { openFulfillmentOrder, requestFulfillmentCancel } from './dispatch.ts';
import { priceHeldLines } from './pricing.ts';
import {
  confirmPromises,
  type OrderSupplyView,
  orderSupply,
  promisedQuantities,
  releaseWaitingPromises,
} from './supply.ts';
import type { OrdersTable } from './tables.ts';

type Dialect = 'sqlite' | 'postgres';
/** `'*'` for principals who see every order (admins, customer service); else the client's own. */
export type OrderScope = string | '*';

export type OrderView = {
  id: string;
  number: string;
  status: OrderStatus;
  holdId: string;
  customer: Customer;
  shippingAddress: Address;
  billingAddress?: Address;
  note?: string;
  paymentReference?: string;
  currency: string;
  total: number;
  /** A configured line (docs/catalog.md) carries its configuration and how its unit price was built. */
  lines: Array<{
    sku: string;
    quantity: number;
    unitPrice: number;
    configuration?: Configuration;
    priceBreakdown?: PriceBreakdown;
  }>;
  /** Every allocation row: `committed`, `shipped`, `released`, or after a shortage `rerouted` (moved to the warehouse of another row) or `backordered`. */
  allocations: Array<{
    id: string;
    warehouseId: string;
    sku: string;
    quantity: number;
    status: AllocationStatus;
    fulfillmentId: string;
  }>;
  fulfillments: Array<{
    id: string;
    warehouseId: string;
    status: FulfillmentOrderStatus;
    cancelState: StoredFulfillmentCancelState;
    packages?: unknown;
  }>;
  shipments: Array<{
    id: string;
    fulfillmentId: string;
    warehouseId: string;
    carrier: string;
    trackingNumber: string;
    status: string;
    shippedAt: string;
  }>;
  history: Array<{ event: string; from: OrderStatus | null; to: OrderStatus; at: string; note?: string }>;
  /** The customer's tracking page, relative to the hub's public URL (the router makes it absolute). */
  trackingPath?: string;
  /**
   * Lines promised against supply (docs/catalog.md, "Pre-orders and made-to-order"): pre-orders
   * against a purchase order, made-to-order units; `expectedShipAt` while any still waits.
   */
  supply?: OrderSupplyView;
  expectedShipAt?: string;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
};

/** The stored status as a reader sees it now: an unpaid order expires with its hold, sweeper or not. */
export function statusAt(stored: OrderStatus, expiresAtMs: number, nowMs: number): OrderStatus {
  return expiringStatusAt(stored, 'pending_payment', expiresAtMs, nowMs);
}

function refuse(from: OrderStatus, event: OrderEvent): DomainError {
  return conflict('transition_not_allowed', `an order that is ${from} cannot take ${event}`, { status: from, event });
}

export async function appendHistory(
  trx: Transaction<Database>,
  orderId: string,
  event: string,
  from: OrderStatus | null,
  to: OrderStatus,
  nowMs: number,
  note?: string,
) {
  const last = await trx
    .selectFrom('order_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('order_id', '=', orderId)
    .executeTakeFirst();
  await trx
    .insertInto('order_events')
    .values({
      order_id: orderId,
      seq: Number(last?.seq ?? 0) + 1,
      event,
      from_status: from,
      to_status: to,
      note: note ?? null,
      at: nowMs,
    })
    .execute();
  // Every transition passes here: order.created, .paid and .canceled are emitted with the change
  // they report, in its transaction (.shipped and .delivered where shipments are recorded and tracked).
  await emitOrderTransition(trx, { orderId, event, from, to, note }, nowMs, [
    'order.created',
    'order.paid',
    'order.canceled',
  ]);
  // The customer is told too (confirmed, shipped, delivered, then asked for feedback): notifications
  // recorded in this transaction, sent by the notification worker.
  await recordOrderNotifications(trx, { orderId, event, from, to }, nowMs);
}

export async function getOrder(db: Kysely<Database>, id: string, scope: OrderScope, nowMs: number): Promise<OrderView> {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  // Another client's order answers 404 like a missing one: ids are not a way to probe (OWASP API1).
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  const [lines, allocations, fulfillments, history, shipments, supply] = await Promise.all([
    db.selectFrom('order_lines').selectAll().where('order_id', '=', id).orderBy('line_no').execute(),
    db
      .selectFrom('allocations')
      .selectAll()
      .where('order_id', '=', id)
      .orderBy('warehouse_id')
      .orderBy('sku')
      .orderBy('id')
      .execute(),
    db.selectFrom('fulfillments').selectAll().where('order_id', '=', id).orderBy('warehouse_id').execute(),
    db.selectFrom('order_events').selectAll().where('order_id', '=', id).orderBy('seq').execute(),
    db.selectFrom('shipments').selectAll().where('order_id', '=', id).orderBy('shipped_at').execute(),
    orderSupply(db, order.hold_id),
  ]);
  const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const view: OrderView = {
    id: order.id,
    number: order.number,
    status,
    holdId: order.hold_id,
    customer: await openCustomer(db, order.customer_json),
    shippingAddress: await openAddress(db, order.shipping_json),
    ...(order.billing_json ? { billingAddress: await openAddress(db, order.billing_json) } : {}),
    ...(order.note ? { note: order.note } : {}),
    ...(order.payment_reference ? { paymentReference: order.payment_reference } : {}),
    currency: order.currency,
    total: Number(order.total),
    lines: lines.map((line) => ({
      sku: line.sku,
      quantity: Number(line.quantity),
      unitPrice: Number(line.unit_price),
      ...(line.configuration_json ? { configuration: JSON.parse(line.configuration_json) as Configuration } : {}),
      ...(line.price_json ? { priceBreakdown: JSON.parse(line.price_json) as PriceBreakdown } : {}),
    })),
    allocations: allocations.map((a) => ({
      id: a.id,
      warehouseId: a.warehouse_id,
      sku: a.sku,
      quantity: Number(a.quantity),
      status: a.status as AllocationStatus,
      fulfillmentId: a.fulfillment_id,
    })),
    fulfillments: fulfillments.map((f) => ({
      id: f.id,
      warehouseId: f.warehouse_id,
      status: f.status as OrderView['fulfillments'][number]['status'],
      cancelState: f.cancel_state as OrderView['fulfillments'][number]['cancelState'],
      ...(f.packages_json ? { packages: JSON.parse(f.packages_json) as unknown } : {}),
    })),
    shipments: shipments.map((s) => ({
      id: s.id,
      fulfillmentId: s.fulfillment_id,
      warehouseId: s.warehouse_id,
      carrier: s.carrier,
      trackingNumber: s.tracking_number,
      status: s.status,
      shippedAt: new Date(Number(s.shipped_at)).toISOString(),
    })),
    history: history.map((h) => ({
      event: h.event,
      from: h.from_status as OrderStatus | null,
      to: h.to_status as OrderStatus,
      at: new Date(Number(h.at)).toISOString(),
      ...(h.note ? { note: h.note } : {}),
    })),
    ...(order.tracking_token ? { trackingPath: `/track/${order.tracking_token}` } : {}),
    ...(supply ? { supply } : {}),
    ...(supply?.expectedShipAt ? { expectedShipAt: supply.expectedShipAt } : {}),
    expiresAt: new Date(Number(order.expires_at)).toISOString(),
    createdAt: new Date(Number(order.created_at)).toISOString(),
    updatedAt: new Date(Number(order.updated_at)).toISOString(),
  };
  if (status === 'expired' && order.status === 'pending_payment') {
    view.history.push({ event: 'hold_expired', from: 'pending_payment', to: 'expired', at: view.expiresAt });
  }
  return view;
}

/**
 * `POST /orders`: an order in `pending_payment` over a checkout hold — the caller's own active hold,
 * or one the hub takes now for `lines`, planned from the shipping address. Prices come from the
 * catalog, never from the request. If the order cannot be written, a hold taken here is released.
 */
export async function createOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  input: OrderCreate,
  context: { clientId: string; nowMs: number },
): Promise<OrderView> {
  const { clientId, nowMs } = context;
  let holdId: string;
  let takenHere = false;
  if (input.lines) {
    const hold = await reserveSuppliedHold(
      db,
      dialect,
      { lines: input.lines },
      {
        clientId,
        nowMs,
        ...(input.shippingAddress.location ? { destination: input.shippingAddress.location } : {}),
      },
    );
    holdId = hold.id;
    takenHere = true;
  } else {
    holdId = input.holdId as string;
    const hold = await db.selectFrom('holds').selectAll().where('id', '=', holdId).executeTakeFirst();
    if (!hold || hold.client_id !== clientId) throw notFound('hold');
    if (hold.status !== 'active' || Number(hold.expires_at) <= nowMs) {
      throw conflict('hold_not_active', 'this hold was released, expired or already ordered; take a new one', {
        holdId,
      });
    }
  }
  try {
    const id = newId();
    await db.transaction().execute((trx) => insertOrderOverHold(trx, { ...input, id, holdId, clientId }, nowMs));
    return getOrder(db, id, clientId, nowMs);
  } catch (error) {
    if (takenHere) await releaseHold(db, dialect, holdId, clientId, nowMs).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes an order in `pending_payment` over the active hold `holdId` (unique: a hold becomes one
 * order), priced from the catalog, inside the caller's transaction: `POST /orders` and an exchange's
 * replacement (returns/exchanges.ts).
 */
export async function insertOrderOverHold(
  trx: Transaction<Database>,
  input: Pick<OrderCreate, 'customer' | 'shippingAddress' | 'billingAddress' | 'note'> & {
    id: string;
    holdId: string;
    clientId: string;
  },
  nowMs: number,
): Promise<void> {
  const { id, holdId, clientId } = input;
  if ((await trx.selectFrom('orders').select('id').where('hold_id', '=', holdId).executeTakeFirst()) !== undefined) {
    throw conflict('hold_not_active', 'this hold already became an order', { holdId });
  }
  const holdRow = await trx.selectFrom('holds').select('expires_at').where('id', '=', holdId).executeTakeFirstOrThrow();
  const held = await trx
    .selectFrom('hold_lines')
    .select(['sku', 'quantity'])
    .where('hold_id', '=', holdId)
    .orderBy('line_no')
    .execute();
  const quantities = new Map<string, number>();
  for (const line of held) quantities.set(line.sku, (quantities.get(line.sku) ?? 0) + Number(line.quantity));
  // Units promised against supply are the order's too (docs/catalog.md, "Pre-orders and made-to-order").
  for (const [sku, units] of await promisedQuantities(trx, holdId))
    quantities.set(sku, (quantities.get(sku) ?? 0) + units);
  const sequence = await trx
    .updateTable('order_sequence')
    .set((eb) => ({ last: eb('last', '+', 1) }))
    .where('id', '=', 1)
    .returning('last')
    .executeTakeFirstOrThrow();
  const { lines, total, currency } = await priceHeldLines(trx, id, holdId, quantities);
  await trx
    .insertInto('orders')
    .values({
      id,
      number: formatOrderNumber(Number(sequence.last)),
      client_id: clientId,
      status: 'pending_payment',
      hold_id: holdId,
      ...(await sealOrderFields(trx, input.customer, input.shippingAddress, input.billingAddress)),
      tracking_token: randomBytes(16).toString('base64url'),
      note: input.note ?? null,
      payment_reference: null,
      currency,
      total,
      expires_at: Number(holdRow.expires_at),
      created_at: nowMs,
      updated_at: nowMs,
    })
    .execute();
  await trx.insertInto('order_lines').values(lines).execute();
  await appendHistory(trx, id, 'order_created', null, 'pending_payment', nowMs);
}

async function lockOrder(trx: Transaction<Database>, dialect: Dialect, id: string, scope: OrderScope) {
  let query = trx.selectFrom('orders').selectAll().where('id', '=', id);
  if (dialect === 'postgres') query = query.forUpdate();
  const order = await query.executeTakeFirst();
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  return order;
}

/**
 * `POST /orders/{id}/payment`: the hold becomes allocations. Under each partition's lock its hold
 * line leaves `reserved` and enters `committed` (available unchanged, so nothing can slip in
 * between); one fulfillment order per warehouse is opened and sent to it (orders/dispatch.ts: an
 * edge's channel, or the fulfillment-order API of a 3PL). A hold that expired before payment cannot
 * be paid for (409): the stock may be sold.
 */
export async function payOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  reference: string,
  scope: OrderScope,
  nowMs: number,
): Promise<OrderView> {
  await db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, id, scope);
    const exchange = await trx
      .selectFrom('exchanges')
      .select('status')
      .where('replacement_order_id', '=', id)
      .executeTakeFirst();
    if (exchange?.status === 'awaiting_return') {
      throw conflict(
        'exchange_awaiting_return',
        'this order replaces returned goods: it goes to fulfillment when the return is received',
      );
    }
    await confirmPaymentLocked(trx, dialect, order, reference, nowMs);
  });
  return getOrder(db, id, scope, nowMs);
}

/**
 * Confirms the payment of an order the caller locked: the hold's lines become committed
 * allocations and fulfillment orders are opened (`payOrder`; an exchange's replacement released
 * when its return arrives, returns/exchanges.ts). 409 when the table or the hold refuses.
 */
export async function confirmPaymentLocked(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Selectable<OrdersTable>,
  reference: string,
  nowMs: number,
): Promise<void> {
  const id = order.id;
  const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const next = transitionOrder(from, 'payment_confirmed');
  if (!next.ok) throw refuse(from, 'payment_confirmed');
  const lines = await trx
    .selectFrom('hold_lines')
    .selectAll()
    .where('hold_id', '=', order.hold_id)
    .orderBy('warehouse_id')
    .orderBy('sku')
    .execute();
  const byWarehouse = new Map<string, Array<{ sku: string; quantity: number }>>();
  for (const line of lines) {
    await lockPartition(trx, dialect, line.warehouse_id, line.sku);
    const converted = await trx
      .updateTable('hold_lines')
      .set({ counted: 0 })
      .where('hold_id', '=', line.hold_id)
      .where('line_no', '=', line.line_no)
      .where('counted', '=', 1)
      .where('expires_at', '>', nowMs)
      .executeTakeFirst();
    if (Number(converted.numUpdatedRows) !== 1)
      throw conflict('hold_expired', 'the hold expired before payment; its stock may be sold', {
        holdId: order.hold_id,
      });
    await trx
      .updateTable('stock_partitions')
      .set((eb) => ({
        reserved: eb('reserved', '-', Number(line.quantity)),
        committed: eb('committed', '+', Number(line.quantity)),
      }))
      .where('warehouse_id', '=', line.warehouse_id)
      .where('sku', '=', line.sku)
      .execute();
    const list = byWarehouse.get(line.warehouse_id) ?? [];
    list.push({ sku: line.sku, quantity: Number(line.quantity) });
    byWarehouse.set(line.warehouse_id, list);
  }
  // Pre-orders wait for their purchase order, made-to-order lines become production requests.
  await confirmPromises(trx, dialect, order, nowMs);
  await trx.updateTable('holds').set({ status: 'converted' }).where('id', '=', order.hold_id).execute();
  for (const [warehouseId, warehouseLines] of byWarehouse) {
    await openFulfillmentOrder(trx, order, warehouseId, warehouseLines, {
      paidAtMs: nowMs,
      nowMs,
      reason: 'payment',
    });
  }
  await trx
    .updateTable('orders')
    .set({ status: next.status, payment_reference: reference, updated_at: nowMs })
    .where('id', '=', id)
    .execute();
  await appendHistory(trx, id, 'payment_confirmed', from, next.status, nowMs, `payment ${reference}`);
}

/**
 * `POST /orders/{id}/cancel`: an unpaid order is canceled at once and its hold returned; a paid one
 * becomes `cancel_requested` and each warehouse holding a fulfillment order is asked (the edge or the
 * 3PL owns it now: it accepts and releases the commitment, or refuses because it shipped).
 */
export async function cancelOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  reason: string | undefined,
  scope: OrderScope,
  nowMs: number,
): Promise<OrderView> {
  let releaseHoldId: string | undefined;
  await db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, id, scope);
    const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
    const next = transitionOrder(from, 'cancel_requested');
    if (!next.ok) throw refuse(from, 'cancel_requested');
    let asked = 0;
    if (from === 'pending_payment') releaseHoldId = order.hold_id;
    else {
      // Backordered units wait at no warehouse (the hub owns them, outside `committed`): released now.
      const backordered: AllocationStatus = 'backordered';
      await trx
        .updateTable('allocations')
        .set({ status: transitionAllocation(backordered, 'release') })
        .where('order_id', '=', id)
        .where('status', '=', backordered)
        .execute();
      // Likewise what still waits for supply (a purchase order, production): released now.
      await releaseWaitingPromises(trx, dialect, id, nowMs);
      // Every warehouse whose fulfillment order can still answer a cancel (accept it, or refuse it
      // because goods left) is asked; canceled and rejected ones hold nothing.
      const answerable = [
        ...new Set([
          ...fulfillmentOrderStatusesAllowing('cancel'),
          ...fulfillmentOrderStatusesAllowing('refuse_cancel'),
        ]),
      ];
      const fulfillments = await trx
        .selectFrom('fulfillments')
        .selectAll()
        .where('order_id', '=', id)
        .where('status', 'in', answerable)
        .orderBy('id')
        .execute();
      for (const fulfillment of fulfillments) {
        if (await requestFulfillmentCancel(trx, order, fulfillment, reason, nowMs)) asked++;
      }
    }
    await trx.updateTable('orders').set({ status: next.status, updated_at: nowMs }).where('id', '=', id).execute();
    await appendHistory(trx, id, 'cancel_requested', from, next.status, nowMs, reason);
    if (from !== 'pending_payment' && asked === 0) {
      // No warehouse holds anything of it (every unit backordered or already released): nobody to ask.
      const accepted = transitionOrder(next.status, 'cancel_accepted');
      if (accepted.ok) {
        await trx
          .updateTable('orders')
          .set({ status: accepted.status, updated_at: nowMs })
          .where('id', '=', id)
          .execute();
        await appendHistory(
          trx,
          id,
          'cancel_accepted',
          next.status,
          accepted.status,
          nowMs,
          'no warehouse held any of it',
        );
      }
    }
  });
  if (releaseHoldId) await releaseHold(db, dialect, releaseHoldId, '*', nowMs);
  return getOrder(db, id, scope, nowMs);
}

/** `PATCH /orders/{id}`: the whitelisted fields, each only while the status still allows it. */
export async function patchOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  patch: OrderPatch,
  scope: OrderScope,
  nowMs: number,
): Promise<OrderView> {
  await db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, id, scope);
    const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
    const check = checkOrderPatch(status, patch);
    if (!check.ok)
      throw conflict('field_not_editable', `${check.field} can no longer change: the order is ${status}`, {
        field: check.field,
        status,
      });
    const customer = { ...(await openCustomer(trx, order.customer_json)), ...(patch.customer ?? {}) };
    // Every personal field is sealed again under the (possibly new) customer's key (docs/operations.md, "Personal data").
    const sealed = await sealOrderFields(
      trx,
      customer,
      patch.shippingAddress ?? (await openAddress(trx, order.shipping_json)),
      patch.billingAddress ?? (order.billing_json ? await openAddress(trx, order.billing_json) : null),
    );
    await trx
      .updateTable('orders')
      .set({
        ...(patch.shippingAddress || patch.billingAddress || patch.customer ? sealed : {}),
        ...(patch.note !== undefined ? { note: patch.note } : {}),
        updated_at: nowMs,
      })
      .where('id', '=', id)
      .execute();
    await appendHistory(trx, id, 'updated', status, status, nowMs, `changed ${Object.keys(patch).join(', ')}`);
  });
  return getOrder(db, id, scope, nowMs);
}

/** `PUT /orders/{id}/status`: staff set what the hub owns (delivered, returns), by the table. */
export async function setOrderStatus(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  to: StaffSettableOrderStatus,
  reason: string | undefined,
  nowMs: number,
): Promise<OrderView> {
  await db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, id, '*');
    const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
    const next = staffTransition(from, to);
    if (!next.ok) throw refuse(from, staffOrderStatusEvents[to]);
    await trx.updateTable('orders').set({ status: next.status, updated_at: nowMs }).where('id', '=', id).execute();
    await appendHistory(trx, id, staffOrderStatusEvents[to], from, next.status, nowMs, reason);
    // Staff marking it delivered (no carrier tracking said so) is announced like a tracked delivery.
    await emitOrderTransition(
      trx,
      { orderId: id, event: staffOrderStatusEvents[to], from, to: next.status, note: reason },
      nowMs,
      ['order.delivered'],
    );
  });
  return getOrder(db, id, '*', nowMs);
}
