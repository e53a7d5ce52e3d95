import {
  asReturnStatus,
  authorizedByPolicy,
  chooseReturnWarehouse,
  conflict,
  firstExcessLine,
  forbidden,
  limits,
  newId,
  notFound,
  type OrderEvent,
  type OrderStatus,
  type ReturnEvent,
  type ReturnPolicy,
  type ReturnReason,
  type ReturnRequest,
  type ReturnStatus,
  returnableQuantities,
  returnWindowClosesAtMs,
  transitionOrder,
  transitionReturn,
  type WarehouseCreate,
  warehouseChannel,
  warehouseHasEdge,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { appendHistory, statusAt } from '../orders/service.ts';
import { openAddress } from '../orders/personal.ts';
import type { OrdersTable } from '../orders/tables.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import { followReturn } from './exchanges.ts';
import type { ReturnsTable } from './tables.ts';

type Dialect = 'sqlite' | 'postgres';
type Order = Selectable<OrdersTable>;
type ReturnRow = Selectable<ReturnsTable>;
/** `'*'` for admins and customer service; else the API client whose orders these are. */
export type ReturnScope = string | '*';

export type ReturnLineView = {
  sku: string;
  quantity: number;
  reason: ReturnReason;
  unitPrice: number;
  restocked: number;
  damaged: number;
  missing: number;
};

export type ReturnView = {
  id: string;
  number: string;
  orderId: string;
  orderNumber: string;
  status: ReturnStatus;
  warehouseId: string;
  currency: string;
  /** The value of the units asked back, at the order's unit prices (minor units). */
  amount: number;
  lines: ReturnLineView[];
  note?: string;
  decisionNote?: string;
  /** The carrier bringing it back and its tracking number, when `in-transit` gave them. */
  carrier?: string;
  trackingNumber?: string;
  /** The exchange this return belongs to, if any. */
  exchangeId?: string;
  createdAt: string;
  updatedAt: string;
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `POST /orders/{id}/return`: under the order's lock, checks that every line asks for units that
 * shipped and are not already being returned (409 `exceeds_returnable` naming the line) and that the
 * window is open (409 `return_window_closed`), picks the warehouse that receives it
 * (`chooseReturnWarehouse`), and authorizes it at once when the policy allows (`authorizedByPolicy`);
 * otherwise it waits `requested` for an agent. The order moves by its table's `return_requested`
 * where that applies (shipped, delivered); `return.requested` (and `return.authorized`) commit with it.
 */
export async function requestReturn(
  db: Kysely<Database>,
  dialect: Dialect,
  orderId: string,
  request: ReturnRequest,
  scope: ReturnScope,
  policy: ReturnPolicy,
  nowMs: number,
): Promise<ReturnView> {
  const id = await db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, orderId, scope);
    return requestReturnLocked(trx, order, request, policy, nowMs);
  });
  return getReturn(db, id, '*');
}

/** `requestReturn` for an order the caller locked (an exchange asks for its return this way); the new id. */
export async function requestReturnLocked(
  trx: Transaction<Database>,
  order: Order,
  request: ReturnRequest,
  policy: ReturnPolicy,
  nowMs: number,
): Promise<string> {
  const shipments = await trx
    .selectFrom('shipments')
    .select(['warehouse_id', 'lines_json', 'shipped_at', 'delivered_at'])
    .where('order_id', '=', order.id)
    .execute();
  const shipped = new Map<string, number>();
  for (const shipment of shipments) {
    for (const line of JSON.parse(shipment.lines_json) as Array<{ sku: string; quantity: number }>)
      shipped.set(line.sku, (shipped.get(line.sku) ?? 0) + line.quantity);
  }
  const returning = await alreadyReturning(trx, order.id);
  const excess = firstExcessLine(request.lines, returnableQuantities(shipped, returning));
  if (excess) {
    throw conflict(
      'exceeds_returnable',
      `line ${excess.sku}: ${excess.quantity} asked back, ${excess.returnable} shipped and not already being returned`,
      { sku: excess.sku, quantity: excess.quantity, returnable: excess.returnable },
    );
  }
  const delivered = shipments.map((s) => s.delivered_at).filter((at): at is number => at !== null);
  const deliveredAtMs =
    delivered.length === shipments.length && delivered.length > 0 ? Math.max(...delivered.map(Number)) : undefined;
  const lastShippedAtMs = shipments.length > 0 ? Math.max(...shipments.map((s) => Number(s.shipped_at))) : undefined;
  const closesAt = returnWindowClosesAtMs(policy, deliveredAtMs, lastShippedAtMs);
  if (closesAt !== undefined && nowMs > closesAt) {
    throw conflict('return_window_closed', `returns for this order closed at ${iso(closesAt)}`, {
      closedAt: iso(closesAt),
    });
  }
  const count = await trx
    .selectFrom('returns')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('order_id', '=', order.id)
    .executeTakeFirstOrThrow();
  if (Number(count.n) >= limits.returnsPerOrderMax)
    throw conflict('too_many_returns', `an order has at most ${limits.returnsPerOrderMax} returns`);
  const warehouseId = await pickWarehouse(trx, order, new Set(shipments.map((s) => s.warehouse_id)));
  const prices = await trx
    .selectFrom('order_lines')
    .select(['sku', 'unit_price'])
    .where('order_id', '=', order.id)
    .execute();
  const priceOf = new Map(prices.map((row) => [row.sku, Number(row.unit_price)]));
  const lines = request.lines.map((line) => ({ ...line, unitPrice: priceOf.get(line.sku) ?? 0 }));
  const id = newId();
  await trx
    .insertInto('returns')
    .values({
      id,
      number: `${order.number}-R${Number(count.n) + 1}`,
      order_id: order.id,
      client_id: order.client_id,
      warehouse_id: warehouseId,
      status: 'requested',
      note: request.note ?? null,
      decision_note: null,
      carrier: null,
      tracking_number: null,
      created_at: nowMs,
      updated_at: nowMs,
    })
    .execute();
  await trx
    .insertInto('return_lines')
    .values(
      lines.map((line, index) => ({
        return_id: id,
        line_no: index + 1,
        sku: line.sku,
        quantity: line.quantity,
        reason: line.reason,
        unit_price: line.unitPrice,
        restocked: 0,
        damaged: 0,
        missing: 0,
      })),
    )
    .execute();
  await moveOrder(trx, order, 'return_requested', `return ${id} requested`, nowMs);
  await emitReturnEvent(trx, 'return.requested', id, nowMs);
  if (authorizedByPolicy(policy, lines)) await authorizeLocked(trx, id, 'authorized by policy', nowMs);
  return id;
}

/** `POST /returns/{id}/authorize`: an agent accepts a `requested` return; its warehouse is told. */
export async function authorizeReturn(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  nowMs: number,
): Promise<ReturnView> {
  await db.transaction().execute(async (trx) => {
    await lockReturn(trx, dialect, id, '*');
    await authorizeLocked(trx, id, 'authorized by an agent', nowMs);
  });
  return getReturn(db, id, '*');
}

/** `POST /returns/{id}/reject`: an agent refuses a `requested` return. */
export async function rejectReturn(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  reason: string,
  nowMs: number,
): Promise<ReturnView> {
  await db.transaction().execute(async (trx) => {
    const row = await lockReturn(trx, dialect, id, '*');
    await moveReturn(trx, row, 'reject', nowMs, reason);
    await followReturn(trx, dialect, id, 'rejected', nowMs);
  });
  return getReturn(db, id, '*');
}

/**
 * `POST /returns/{id}/cancel`: the customer (its storefront) or an agent withdraws a return before
 * anything arrived (the table allows it from `requested` and `authorized`; once the parcel is on its
 * way, or units arrived, 409). An authorized return's warehouse is told to stop expecting it (an edge
 * that already received units keeps them: physical fact wins, and its fact reaches the hub as a
 * `return_state_conflict`). Emits `return.canceled`; an exchange waiting on it is canceled too.
 */
export async function cancelReturn(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  reason: string,
  scope: ReturnScope,
  nowMs: number,
): Promise<ReturnView> {
  await db.transaction().execute(async (trx) => {
    const row = await lockReturn(trx, dialect, id, scope);
    await cancelReturnLocked(trx, dialect, row, reason, nowMs);
  });
  return getReturn(db, id, scope);
}

/** Cancels a return whose order the caller locked: see `cancelReturn`. */
export async function cancelReturnLocked(
  trx: Transaction<Database>,
  dialect: Dialect,
  row: ReturnRow,
  reason: string,
  nowMs: number,
): Promise<void> {
  const wasExpected = row.status === 'authorized' || row.status === 'in_transit';
  await moveReturn(trx, row, 'cancel', nowMs, reason);
  if (wasExpected) {
    const warehouse = await trx
      .selectFrom('warehouses')
      .select('kind')
      .where('id', '=', row.warehouse_id)
      .executeTakeFirstOrThrow();
    if (warehouseHasEdge(warehouse.kind as WarehouseCreate['kind'])) {
      await appendDownstream(trx, warehouseChannel(row.warehouse_id), 'return.canceled', { returnId: row.id }, nowMs);
    }
  }
  const view = await getReturn(trx, row.id, '*');
  await emitWebhookEvent(trx, {
    type: 'return.canceled',
    data: { ...webhookReturn(view, nowMs), reason },
    clientId: row.client_id,
    warehouseId: view.warehouseId,
    nowMs,
  });
  await followReturn(trx, dialect, row.id, 'canceled', nowMs);
}

/**
 * `POST /returns/{id}/in-transit`: a carrier's scan (or an agent) says the parcel is on its way back,
 * with its tracking when known. Moves `authorized → in_transit` by the table (409 otherwise: a
 * return not yet authorized, already in transit or received); emits `return.in_transit`. A
 * carrier client may report only parcels of its own carrier (403 otherwise).
 */
export async function markReturnInTransit(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  tracking: { carrier?: string | undefined; trackingNumber?: string | undefined },
  actor: { role: string; subject: string },
  nowMs: number,
): Promise<ReturnView> {
  await db.transaction().execute(async (trx) => {
    if (actor.role === 'carrier') {
      // A carrier client speaks for its own carrier (`api_clients.carrier`), as for shipments.
      const client = await trx
        .selectFrom('api_clients')
        .select('carrier')
        .where('id', '=', actor.subject)
        .executeTakeFirst();
      if (!client?.carrier || tracking.carrier?.trim().toLowerCase() !== client.carrier) {
        throw forbidden(
          `a ${client?.carrier ?? 'carrier'} client reports its own parcels: give carrier and trackingNumber`,
        );
      }
    }
    const row = await lockReturn(trx, dialect, id, '*');
    await moveReturn(trx, row, 'dispatch', nowMs);
    await trx
      .updateTable('returns')
      .set({ carrier: tracking.carrier ?? null, tracking_number: tracking.trackingNumber ?? null })
      .where('id', '=', id)
      .execute();
    const view = await getReturn(trx, id, '*');
    await emitWebhookEvent(trx, {
      type: 'return.in_transit',
      data: {
        ...webhookReturn(view, nowMs),
        carrier: tracking.carrier ?? null,
        trackingNumber: tracking.trackingNumber ?? null,
      },
      clientId: row.client_id,
      warehouseId: view.warehouseId,
      nowMs,
    });
  });
  return getReturn(db, id, '*');
}

/**
 * Authorizes a return whose row the caller holds: the status moves by the shared table, the
 * warehouse's edge is sent the return on its channel (`return.authorized`), and `return.authorized`
 * is emitted, all in the caller's transaction.
 */
async function authorizeLocked(trx: Transaction<Database>, id: string, note: string, nowMs: number): Promise<void> {
  const row = await trx.selectFrom('returns').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  await moveReturn(trx, row, 'authorize', nowMs, note);
  const warehouse = await trx
    .selectFrom('warehouses')
    .select('kind')
    .where('id', '=', row.warehouse_id)
    .executeTakeFirstOrThrow();
  if (warehouseHasEdge(warehouse.kind as WarehouseCreate['kind'])) {
    const order = await trx
      .selectFrom('orders')
      .select(['number'])
      .where('id', '=', row.order_id)
      .executeTakeFirstOrThrow();
    const lines = await trx
      .selectFrom('return_lines')
      .select(['sku', 'quantity'])
      .where('return_id', '=', id)
      .orderBy('line_no')
      .execute();
    await appendDownstream(
      trx,
      warehouseChannel(row.warehouse_id),
      'return.authorized',
      {
        returnId: id,
        number: row.number,
        orderId: row.order_id,
        orderNumber: order.number,
        lines: lines.map((line) => ({ sku: line.sku, quantity: Number(line.quantity) })),
        note: row.note,
      },
      nowMs,
    );
  }
  await emitReturnEvent(trx, 'return.authorized', id, nowMs);
}

/** Moves a return by the shared table, or refuses with 409 `transition_not_allowed` and its status. */
export async function moveReturn(
  trx: Transaction<Database>,
  row: ReturnRow,
  event: ReturnEvent,
  nowMs: number,
  decisionNote?: string,
): Promise<ReturnStatus> {
  const from = asReturnStatus(row.status);
  const next = transitionReturn(from, event);
  if (!next.ok) {
    throw conflict('transition_not_allowed', `a ${from} return cannot ${event}`, { status: from, event });
  }
  await trx
    .updateTable('returns')
    .set({
      status: next.status,
      updated_at: nowMs,
      ...(decisionNote === undefined ? {} : { decision_note: decisionNote }),
    })
    .where('id', '=', row.id)
    .execute();
  return next.status;
}

/**
 * Moves the order by `event` where its table allows it (a partly shipped order keeps its status
 * while a return of what already left is open), recording the step in its history.
 */
export async function moveOrder(
  trx: Transaction<Database>,
  order: Order,
  event: OrderEvent,
  note: string,
  nowMs: number,
): Promise<void> {
  const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const next = transitionOrder(from, event);
  if (!next.ok || next.status === from) return;
  await trx.updateTable('orders').set({ status: next.status, updated_at: nowMs }).where('id', '=', order.id).execute();
  await appendHistory(trx, order.id, event, from, next.status, nowMs, note);
}

/** Units of the order per SKU that open or finished returns already hold (rejected and canceled do not). */
async function alreadyReturning(trx: Transaction<Database>, orderId: string): Promise<Map<string, number>> {
  const rows = await trx
    .selectFrom('return_lines as l')
    .innerJoin('returns as r', 'r.id', 'l.return_id')
    .select(['l.sku', 'l.quantity'])
    .where('r.order_id', '=', orderId)
    .where('r.status', 'not in', ['rejected', 'canceled'])
    .execute();
  const out = new Map<string, number>();
  for (const row of rows) out.set(row.sku, (out.get(row.sku) ?? 0) + Number(row.quantity));
  return out;
}

/** The warehouse that receives the return (policy in shared: `chooseReturnWarehouse`); 409 when none may. */
async function pickWarehouse(trx: Transaction<Database>, order: Order, shippedFrom: ReadonlySet<string>) {
  const rows = await trx
    .selectFrom('warehouses')
    .select(['id', 'kind', 'lat', 'lon'])
    .where('accepts_returns', '=', 1)
    .orderBy('id')
    .execute();
  const candidates = rows
    .filter((row) => warehouseHasEdge(row.kind as WarehouseCreate['kind']))
    .map((row) => ({
      id: row.id,
      location: { lat: Number(row.lat), lon: Number(row.lon) },
      shippedFrom: shippedFrom.has(row.id),
    }));
  const address = await openAddress(trx, order.shipping_json);
  const chosen = chooseReturnWarehouse(candidates, address.location);
  if (!chosen) throw conflict('no_return_warehouse', 'no warehouse accepts returns');
  return chosen;
}

export async function lockOrder(trx: Transaction<Database>, dialect: Dialect, id: string, scope: ReturnScope) {
  let query = trx.selectFrom('orders').selectAll().where('id', '=', id);
  if (dialect === 'postgres') query = query.forUpdate();
  const order = await query.executeTakeFirst();
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  return order;
}

/** The return's order locked first (every writer of either takes the order), then the return read under it. */
export async function lockReturn(
  trx: Transaction<Database>,
  dialect: Dialect,
  id: string,
  scope: ReturnScope,
): Promise<ReturnRow> {
  const found = await trx
    .selectFrom('returns')
    .select(['order_id', 'client_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!found || (scope !== '*' && found.client_id !== scope)) throw notFound('return');
  await lockOrder(trx, dialect, found.order_id, '*');
  return trx.selectFrom('returns').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function getReturn(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
  scope: ReturnScope,
): Promise<ReturnView> {
  const row = await db
    .selectFrom('returns as r')
    .innerJoin('orders as o', 'o.id', 'r.order_id')
    .leftJoin('exchanges as x', 'x.return_id', 'r.id')
    .selectAll('r')
    .select(['o.number as order_number', 'o.currency', 'x.id as exchange_id'])
    .where('r.id', '=', id)
    .executeTakeFirst();
  if (!row || (scope !== '*' && row.client_id !== scope)) throw notFound('return');
  const lines = await db
    .selectFrom('return_lines')
    .selectAll()
    .where('return_id', '=', id)
    .orderBy('line_no')
    .execute();
  return present(row, lines);
}

type LineRow = { sku: string; quantity: number; reason: string; unit_price: number } & Record<
  'restocked' | 'damaged' | 'missing',
  number
>;

function present(
  row: ReturnRow & { order_number: string; currency: string; exchange_id: string | null },
  lines: LineRow[],
): ReturnView {
  const views = lines.map((line) => ({
    sku: line.sku,
    quantity: Number(line.quantity),
    reason: line.reason as ReturnReason,
    unitPrice: Number(line.unit_price),
    restocked: Number(line.restocked),
    damaged: Number(line.damaged),
    missing: Number(line.missing),
  }));
  return {
    id: row.id,
    number: row.number,
    orderId: row.order_id,
    orderNumber: row.order_number,
    status: asReturnStatus(row.status),
    warehouseId: row.warehouse_id,
    currency: row.currency,
    amount: views.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
    lines: views,
    ...(row.note === null ? {} : { note: row.note }),
    ...(row.decision_note === null ? {} : { decisionNote: row.decision_note }),
    ...(row.carrier === null ? {} : { carrier: row.carrier }),
    ...(row.tracking_number === null ? {} : { trackingNumber: row.tracking_number }),
    ...(row.exchange_id ? { exchangeId: row.exchange_id } : {}),
    createdAt: iso(Number(row.created_at)),
    updatedAt: iso(Number(row.updated_at)),
  };
}

export type ReturnListFilter = {
  status?: ReturnStatus | undefined;
  orderId?: string | undefined;
  warehouseId?: string | undefined;
  /** A warehouse-scoped principal's warehouses: only their returns. */
  warehouses?: readonly string[] | undefined;
  cursor?: string | undefined;
  limit: number;
};

/** `GET /returns`: newest first, keyset-paged on (created_at, id); a storefront sees its own orders'. */
export async function listReturns(
  db: Kysely<Database>,
  filter: ReturnListFilter,
  scope: ReturnScope,
): Promise<{ items: ReturnView[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('returns as r')
    .innerJoin('orders as o', 'o.id', 'r.order_id')
    .leftJoin('exchanges as x', 'x.return_id', 'r.id')
    .selectAll('r')
    .select(['o.number as order_number', 'o.currency', 'x.id as exchange_id'])
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(filter.limit + 1);
  if (scope !== '*') query = query.where('r.client_id', '=', scope);
  if (filter.status) query = query.where('r.status', '=', filter.status);
  if (filter.orderId) query = query.where('r.order_id', '=', filter.orderId);
  if (filter.warehouseId) query = query.where('r.warehouse_id', '=', filter.warehouseId);
  if (filter.warehouses) {
    if (filter.warehouses.length === 0) return { items: [], nextCursor: null };
    query = query.where('r.warehouse_id', 'in', [...filter.warehouses]);
  }
  const key = decodeCursor(filter.cursor);
  if (key !== undefined) {
    const [atText, lastId] = key.split('|');
    const at = Number(atText);
    if (Number.isSafeInteger(at) && lastId) {
      query = query.where((eb) =>
        eb.or([eb('r.created_at', '<', at), eb.and([eb('r.created_at', '=', at), eb('r.id', '<', lastId)])]),
      );
    }
  }
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const lines =
    page.length === 0
      ? []
      : await db
          .selectFrom('return_lines')
          .selectAll()
          .where(
            'return_id',
            'in',
            page.map((row) => row.id),
          )
          .orderBy('return_id')
          .orderBy('line_no')
          .execute();
  const items = page.map((row) =>
    present(
      row,
      lines.filter((line) => line.return_id === row.id),
    ),
  );
  const last = page[page.length - 1];
  return {
    items,
    nextCursor: rows.length > filter.limit && last ? encodeCursor(`${Number(last.created_at)}|${last.id}`) : null,
  };
}

/** `PUT /warehouses/{id}/returns-policy`: whether the warehouse receives returns. */
export async function setReturnsPolicy(
  db: Kysely<Database>,
  warehouseId: string,
  acceptsReturns: boolean,
): Promise<{ warehouseId: string; acceptsReturns: boolean }> {
  const result = await db
    .updateTable('warehouses')
    .set({ accepts_returns: acceptsReturns ? 1 : 0 })
    .where('id', '=', warehouseId)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw notFound('warehouse');
  return { warehouseId, acceptsReturns };
}

export async function getReturnsPolicy(
  db: Kysely<Database>,
  warehouseId: string,
): Promise<{ warehouseId: string; acceptsReturns: boolean }> {
  const row = await db
    .selectFrom('warehouses')
    .select('accepts_returns')
    .where('id', '=', warehouseId)
    .executeTakeFirst();
  if (!row) throw notFound('warehouse');
  return { warehouseId, acceptsReturns: Number(row.accepts_returns) === 1 };
}

/**
 * Emits a `return.*` event (not `return.received`, which carries the receipt: receive.ts) with the
 * return as it stands, to the order's storefront and admins, in the caller's transaction.
 */
export async function emitReturnEvent(
  trx: Transaction<Database>,
  type: 'return.requested' | 'return.authorized' | 'return.closed',
  id: string,
  nowMs: number,
): Promise<void> {
  const view = await getReturn(trx, id, '*');
  const row = await trx.selectFrom('returns').select('client_id').where('id', '=', id).executeTakeFirstOrThrow();
  await emitWebhookEvent(trx, {
    type,
    data: webhookReturn(view, nowMs),
    clientId: row.client_id,
    warehouseId: view.warehouseId,
    nowMs,
  });
}

export function webhookReturn(view: ReturnView, nowMs: number) {
  return {
    id: view.id,
    number: view.number,
    orderId: view.orderId,
    orderNumber: view.orderNumber,
    status: view.status,
    warehouseId: view.warehouseId,
    currency: view.currency,
    lines: view.lines,
    amount: view.amount,
    updatedAt: iso(nowMs),
  };
}
