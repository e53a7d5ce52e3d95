import {
  type Address,
  asFulfillmentOrderStatus,
  assert,
  badRequest,
  type Configuration,
  conflict,
  type DomainError,
  type FulfillmentOrderShip,
  type FulfillmentOrderStatus,
  limits,
  newId,
  notFound,
  type OrderStatus,
  planShipment,
  type StoredFulfillmentCancelState,
  transitionFulfillmentCancel,
  type WarehouseCreate,
  warehouseHasEdge,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { lockPartition } from '../inventory/lock.ts';
import { openAddress, openCustomer } from '../orders/personal.ts';
import { statusAt } from '../orders/service.ts';
import type { FulfillmentsTable, OrdersTable } from '../orders/tables.ts';
import {
  cancelAcceptedStep,
  cancelRefusedStep,
  everyAnswered,
  lockFulfillment,
  nextStatus,
  noteShipping,
  refusal,
  type StepOutcome,
  type StepRefusal,
  settleOrder,
  shipStep,
} from './facts.ts';
import { rerouteReleased } from './shortage.ts';

/**
 * Fulfillment orders through the hub's API (the Shopify fulfillment-service model): a warehouse with
 * no edge (a 3PL or dropshipper) lists the orders it is asked to fulfil, accepts or rejects each,
 * ships it (in parts if it likes) and answers cancel requests, over REST. Each action runs the same
 * step as the matching edge fact (facts.ts), so the order moves exactly as it does for an edge; a
 * rejection re-routes the units as shortage re-routing does (shortage.ts). Admins and customer
 * service read every warehouse's; a 3PL client only its own, and another warehouse's is 404.
 */

type Dialect = 'sqlite' | 'postgres';
type Order = Selectable<OrdersTable>;
type Fulfillment = Selectable<FulfillmentsTable>;
/** The warehouses a principal may see: `'*'` or a list. */
export type WarehouseScope = readonly string[] | '*';

export type FulfillmentOrderView = {
  id: string;
  orderId: string;
  orderNumber: string;
  warehouseId: string;
  status: FulfillmentOrderStatus;
  cancelState: StoredFulfillmentCancelState;
  /** Per SKU: units on this fulfillment order, shipped so far, still to ship (the rest was released or re-routed). */
  lines: Array<{ sku: string; quantity: number; shipped: number; toShip: number; configuration?: Configuration }>;
  /** What a carrier label needs, and no more of the customer (no e-mail, no prices). */
  shipTo: { name: string; phone?: string; address: Address };
  shipments: Array<{
    id: string;
    carrier: string;
    trackingNumber: string;
    status: string;
    lines: Array<{ sku: string; quantity: number }>;
    shippedAt: string;
  }>;
  createdAt: string;
};

const inScope = (scope: WarehouseScope, warehouseId: string) => scope === '*' || scope.includes(warehouseId);
// Outside the caller's warehouses a fulfillment order answers like a missing one (OWASP API1).
const missing = () => notFound('fulfillment order');

// ---------------------------------------------------------------------------------------------
// Reading: `GET /fulfillment-orders`, `GET /fulfillment-orders/{id}`.
// ---------------------------------------------------------------------------------------------

export type FulfillmentOrderFilters = {
  status?: FulfillmentOrderStatus;
  cancelState?: Exclude<StoredFulfillmentCancelState, null>;
  warehouseId?: string;
  cursor?: string;
  limit: number;
};

/** Fulfillment orders oldest first (ids are time-ordered), paged by id, only of the warehouses in `scope`. */
export async function listFulfillmentOrders(
  db: Kysely<Database>,
  filters: FulfillmentOrderFilters,
  scope: WarehouseScope,
): Promise<{ items: FulfillmentOrderView[]; nextCursor: string | null }> {
  assert(filters.limit >= 1 && filters.limit <= limits.pageSizeMax, 'page size within bounds');
  const after = decodeCursor(filters.cursor);
  if (filters.cursor !== undefined && after === undefined) {
    throw badRequest('invalid_input', 'invalid cursor', {
      issues: [{ path: 'cursor', message: 'not a cursor', code: 'invalid_string' }],
    });
  }
  let query = db.selectFrom('fulfillments').selectAll();
  if (scope !== '*') query = query.where('warehouse_id', 'in', scope.length > 0 ? [...scope] : ['']);
  if (filters.warehouseId) query = query.where('warehouse_id', '=', filters.warehouseId);
  if (filters.status) query = query.where('status', '=', filters.status);
  if (filters.cancelState) query = query.where('cancel_state', '=', filters.cancelState);
  if (after) query = query.where('id', '>', after);
  const rows = await query
    .orderBy('id')
    .limit(filters.limit + 1)
    .execute();
  const page = rows.slice(0, filters.limit);
  return {
    items: await views(db, page),
    nextCursor: rows.length > filters.limit ? encodeCursor((page.at(-1) as Fulfillment).id) : null,
  };
}

export async function getFulfillmentOrder(
  db: Kysely<Database>,
  id: string,
  scope: WarehouseScope,
): Promise<FulfillmentOrderView> {
  const row = await db.selectFrom('fulfillments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !inScope(scope, row.warehouse_id)) throw missing();
  const [view] = await views(db, [row]);
  return view as FulfillmentOrderView;
}

/** The views of a page of fulfillment orders: their orders, allocations and shipments read once per page. */
async function views(db: Kysely<Database>, rows: Fulfillment[]): Promise<FulfillmentOrderView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const orderIds = [...new Set(rows.map((row) => row.order_id))];
  const [orders, allocations, shipments, configured] = await Promise.all([
    db
      .selectFrom('orders')
      .select(['id', 'number', 'customer_json', 'shipping_json'])
      .where('id', 'in', orderIds)
      .execute(),
    db
      .selectFrom('allocations')
      .select(['fulfillment_id', 'sku', 'quantity', 'shipping', 'status'])
      .where('fulfillment_id', 'in', ids)
      .orderBy('sku')
      .orderBy('id')
      .execute(),
    db.selectFrom('shipments').selectAll().where('fulfillment_id', 'in', ids).orderBy('shipped_at').execute(),
    // What the buyer configured (docs/catalog.md): the warehouse makes or picks the line that way.
    db
      .selectFrom('order_lines')
      .select(['order_id', 'sku', 'configuration_json'])
      .where('order_id', 'in', orderIds)
      .where('configuration_json', 'is not', null)
      .execute(),
  ]);
  const configurationOf = new Map(
    configured.map((line) => [
      `${line.order_id}/${line.sku}`,
      JSON.parse(line.configuration_json as string) as Configuration,
    ]),
  );
  const orderOf = new Map(
    await Promise.all(
      orders.map(
        async (order) =>
          [
            order.id,
            {
              number: order.number,
              customer: await openCustomer(db, order.customer_json),
              address: await openAddress(db, order.shipping_json),
            },
          ] as const,
      ),
    ),
  );
  return rows.map((row) => {
    const order = orderOf.get(row.order_id);
    assert(order !== undefined, 'a fulfillment order belongs to an order');
    const { customer } = order;
    const lines = new Map<string, FulfillmentOrderView['lines'][number]>();
    for (const allocation of allocations.filter((entry) => entry.fulfillment_id === row.id)) {
      const configuration = configurationOf.get(`${row.order_id}/${allocation.sku}`);
      const line = lines.get(allocation.sku) ?? {
        sku: allocation.sku,
        quantity: 0,
        shipped: 0,
        toShip: 0,
        ...(configuration ? { configuration } : {}),
      };
      const quantity = Number(allocation.quantity);
      line.quantity += quantity;
      if (allocation.status === 'shipped') line.shipped += quantity;
      if (allocation.status === 'committed') {
        line.shipped += Number(allocation.shipping);
        line.toShip += quantity - Number(allocation.shipping);
      }
      lines.set(allocation.sku, line);
    }
    return {
      id: row.id,
      orderId: row.order_id,
      orderNumber: order.number,
      warehouseId: row.warehouse_id,
      status: asFulfillmentOrderStatus(row.status),
      cancelState: row.cancel_state as StoredFulfillmentCancelState,
      lines: [...lines.values()],
      shipTo: {
        name: customer.name,
        ...(customer.phone ? { phone: customer.phone } : {}),
        address: order.address,
      },
      shipments: shipments
        .filter((shipment) => shipment.fulfillment_id === row.id)
        .map((shipment) => ({
          id: shipment.id,
          carrier: shipment.carrier,
          trackingNumber: shipment.tracking_number,
          status: shipment.status,
          lines: JSON.parse(shipment.lines_json) as Array<{ sku: string; quantity: number }>,
          shippedAt: new Date(Number(shipment.shipped_at)).toISOString(),
        })),
      createdAt: new Date(Number(row.created_at)).toISOString(),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Acting: accept, reject, ship, cancel-accept, cancel-refuse.
// ---------------------------------------------------------------------------------------------

export type FulfillmentOrderAction =
  | { type: 'accept' }
  | { type: 'reject'; reason: string }
  | { type: 'ship'; shipment: FulfillmentOrderShip }
  | { type: 'cancel_accept' }
  | { type: 'cancel_refuse'; reason: string };

/**
 * One action of a 3PL on one of its fulfillment orders, in one transaction: the order locked, the
 * fulfillment order read again under that lock, the step allowed by the shared tables or refused
 * with 409 `transition_not_allowed` (nothing written). 404 outside `scope`; 409 `owner_is_edge` for
 * a warehouse with an edge (its edge owns the order; docs/architecture.md, "Ownership").
 */
export async function actOnFulfillmentOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  action: FulfillmentOrderAction,
  scope: WarehouseScope,
  nowMs: number,
): Promise<FulfillmentOrderView> {
  await db.transaction().execute(async (trx) => {
    const locked = await lockFulfillment(trx, dialect, id);
    if (!locked || !inScope(scope, locked.fulfillment.warehouse_id)) throw missing();
    const { order, fulfillment } = locked;
    const warehouse = await trx
      .selectFrom('warehouses')
      .select('kind')
      .where('id', '=', fulfillment.warehouse_id)
      .executeTakeFirstOrThrow();
    if (warehouseHasEdge(warehouse.kind as WarehouseCreate['kind'])) {
      throw conflict(
        'owner_is_edge',
        `fulfillment orders of ${fulfillment.warehouse_id} are owned by its edge; they are picked, packed and shipped there`,
        { warehouseId: fulfillment.warehouse_id },
      );
    }
    const who = fulfillment.warehouse_id;
    let outcome: StepOutcome | StepRefusal;
    let label: string;
    switch (action.type) {
      case 'accept':
        outcome = await acceptStep(trx, fulfillment);
        label = 'fulfillment_accepted';
        break;
      case 'reject':
        outcome = await rejectStep(trx, dialect, order, fulfillment, action.reason, nowMs);
        label = 'fulfillment_rejected';
        break;
      case 'ship':
        outcome = await shipThroughApi(trx, dialect, order, fulfillment, action.shipment, nowMs);
        label = 'fulfillment_shipped';
        break;
      case 'cancel_accept':
        outcome = await cancelAcceptedStep(trx, dialect, order, fulfillment);
        label = 'fulfillment_canceled';
        break;
      case 'cancel_refuse':
        outcome = await cancelRefusedStep(
          trx,
          fulfillment,
          `${who} refused to cancel: goods had already shipped; a return is needed (${action.reason})`,
        );
        label = 'fulfillment_cancel_refused';
        break;
    }
    if ('refused' in outcome) throw refused(outcome);
    await settleOrder(trx, order, outcome, label, nowMs);
  });
  return getFulfillmentOrder(db, id, scope);
}

function refused(refusal: StepRefusal): DomainError {
  return conflict(
    'transition_not_allowed',
    `a fulfillment order that is ${refusal.status}${refusal.cancelState ? ` (cancel ${refusal.cancelState})` : ''} cannot take ${refusal.event}`,
    { status: refusal.status, cancelState: refusal.cancelState, event: refusal.event },
  );
}

/** The 3PL takes the order on: it will ship it. */
async function acceptStep(trx: Transaction<Database>, fulfillment: Fulfillment): Promise<StepOutcome | StepRefusal> {
  const status = nextStatus(fulfillment, 'accept');
  if (!status) return refusal(fulfillment, 'accept');
  await trx.updateTable('fulfillments').set({ status }).where('id', '=', fulfillment.id).execute();
  return { note: `${fulfillment.warehouse_id} accepted fulfillment order ${fulfillment.id}` };
}

/**
 * The 3PL will not ship it: every unit leaves its `committed` and is re-routed by allocation to
 * another warehouse that proves it available in the statement that takes it, or backordered
 * (shortage.ts's re-routing, the same code). While the order is being canceled the units are only
 * released, the open cancel request is moot, and the order cancels once every warehouse answered.
 */
async function rejectStep(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  fulfillment: Fulfillment,
  reason: string,
  nowMs: number,
): Promise<StepOutcome | StepRefusal> {
  const status = nextStatus(fulfillment, 'reject');
  if (!status) return refusal(fulfillment, 'reject');
  const orderStatus = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const allocations = await trx
    .selectFrom('allocations')
    .selectAll()
    .where('fulfillment_id', '=', fulfillment.id)
    .where('status', '=', 'committed')
    .orderBy('sku')
    .orderBy('id')
    .execute();
  // This warehouse's partitions first, in the one (warehouse, sku) order; each SKU's re-route then
  // locks the partitions it takes from as shortage re-routing does.
  for (const sku of [...new Set(allocations.map((allocation) => allocation.sku))])
    await lockPartition(trx, dialect, fulfillment.warehouse_id, sku);
  const moves: string[] = [];
  let releasedWhileCanceling = false;
  for (const allocation of allocations) {
    const units = Number(allocation.quantity) - Number(allocation.shipping);
    if (units === 0) continue;
    const outcome = await rerouteReleased(trx, dialect, order, allocation, units, orderStatus, nowMs);
    moves.push(`${allocation.sku}: ${outcome.moves}`);
    releasedWhileCanceling ||= outcome.releasedWhileCanceling;
  }
  // A cancel request still open for it is moot: nothing is left here to cancel.
  const moot = transitionFulfillmentCancel(fulfillment.cancel_state, 'accept');
  await trx
    .updateTable('fulfillments')
    .set({ status, ...(moot.ok ? { cancel_state: moot.state } : {}) })
    .where('id', '=', fulfillment.id)
    .execute();
  return {
    event: releasedWhileCanceling && (await everyAnswered(trx, order.id)) ? 'cancel_accepted' : undefined,
    note: `${fulfillment.warehouse_id} rejected fulfillment order ${fulfillment.id} (${reason}); ${moves.join('; ') || 'nothing was left to move'}`,
  };
}

/**
 * The 3PL handed units to a carrier: what it names (or everything still to ship) leaves its
 * partition — `on_hand` and `committed` drop together under the partition's lock, as an edge's `ship`
 * stock events and `noteShipping` do — and the shared ship step records the shipment and moves the
 * order. A line beyond what is left to ship is 409 (`over_ship`, `sku_not_in_fulfillment`); units the
 * hub does not have on hand there are 409 `insufficient_on_hand` (correct the stock first).
 */
async function shipThroughApi(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  fulfillment: Fulfillment,
  request: FulfillmentOrderShip,
  nowMs: number,
): Promise<StepOutcome | StepRefusal> {
  if (!nextStatus(fulfillment, 'ship_some') && !nextStatus(fulfillment, 'ship_all'))
    return refusal(fulfillment, 'ship_all');
  const open = await trx
    .selectFrom('allocations')
    .select(['sku', 'quantity', 'shipping'])
    .where('fulfillment_id', '=', fulfillment.id)
    .where('status', '=', 'committed')
    .orderBy('sku')
    .execute();
  const plan = planShipment(
    open.map((row) => ({ sku: row.sku, quantity: Number(row.quantity) - Number(row.shipping) })),
    request.lines,
  );
  if (!plan.ok) throw conflict(plan.reason, plan.message, { status: fulfillment.status });
  if (!nextStatus(fulfillment, plan.complete ? 'ship_all' : 'ship_some'))
    return refusal(fulfillment, plan.complete ? 'ship_all' : 'ship_some');
  const warehouseId = fulfillment.warehouse_id;
  for (const line of [...plan.lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))) {
    await lockPartition(trx, dialect, warehouseId, line.sku);
    // Sellable units only: damaged and quality-control units stay counted within on_hand.
    const left = await trx
      .updateTable('stock_partitions')
      .set((eb) => ({ on_hand: eb('on_hand', '-', line.quantity), updated_at: nowMs }))
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', line.sku)
      .where((eb) => eb(eb(eb('on_hand', '-', eb.ref('damaged')), '-', eb.ref('quality_control')), '>=', line.quantity))
      .executeTakeFirst();
    if (Number(left.numUpdatedRows) !== 1) {
      const partition = await trx
        .selectFrom('stock_partitions')
        .select(['on_hand', 'damaged', 'quality_control'])
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', line.sku)
        .executeTakeFirst();
      throw conflict(
        'insufficient_on_hand',
        `${warehouseId} does not have ${line.quantity} × ${line.sku} on hand to ship; correct its stock first`,
        {
          sku: line.sku,
          quantity: line.quantity,
          onHand: Number(partition?.on_hand ?? 0),
          damaged: Number(partition?.damaged ?? 0),
          qualityControl: Number(partition?.quality_control ?? 0),
        },
      );
    }
    await noteShipping(trx, warehouseId, line.sku, fulfillment.id, line.quantity);
  }
  return shipStep(
    trx,
    dialect,
    order,
    fulfillment,
    {
      id: newId(),
      carrier: request.carrier,
      trackingNumber: request.trackingNumber,
      lines: plan.lines,
      shippedAtMs: nowMs,
    },
    plan.complete,
    nowMs,
  );
}
