import {
  type OrderStatus,
  type Role,
  type TrackingEvent,
  type TrackingEventInput,
  type TrackingStatus,
  carrierTrackingUrl,
  conflict,
  limits,
  notFound,
  shipmentTracking,
  transitionOrder,
} from '@dovetail/shared';
import { type Kysely, type Selectable, type Transaction, sql } from 'kysely';
import type { Database } from '../database.ts';
import { recordOutForDelivery } from '../notifications/record.ts';
import { appendHistory, statusAt } from '../orders/service.ts';
import { emitOrderTransition } from '../webhooks/domain-events.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import type { ShipmentEventsTable, ShipmentsTable } from './tables.ts';

type Dialect = 'sqlite' | 'postgres';

/** Who reports or reads: carriers see their own shipments, 3PLs their warehouses', others by role. */
export type ShipmentActor = { role: Role; subject: string; warehouses: readonly string[] | '*' };

export type ShipmentView = {
  id: string;
  orderId: string;
  fulfillmentId: string;
  warehouseId: string;
  carrier: string;
  trackingNumber: string;
  trackingUrl?: string;
  status: TrackingStatus;
  estimatedDeliveryAt?: string;
  deliveredAt?: string;
  shippedAt: string;
  events: {
    carrierEventId: string;
    status: TrackingStatus;
    occurredAt: string;
    location?: string;
    estimatedDeliveryAt?: string;
    description?: string;
  }[];
};

const iso = (ms: number) => new Date(ms).toISOString();

function eventOf(row: Selectable<ShipmentEventsTable>): TrackingEvent {
  return {
    carrierEventId: row.carrier_event_id,
    status: row.status as TrackingStatus,
    occurredAtMs: Number(row.occurred_at),
    location: row.location ?? undefined,
    estimatedDeliveryAtMs: row.estimated_delivery_at === null ? undefined : Number(row.estimated_delivery_at),
    description: row.description ?? undefined,
  };
}

function viewOf(shipment: Selectable<ShipmentsTable>, events: TrackingEvent[]): ShipmentView {
  const tracking = shipmentTracking(events);
  const url = carrierTrackingUrl(shipment.carrier, shipment.tracking_number);
  return {
    id: shipment.id,
    orderId: shipment.order_id,
    fulfillmentId: shipment.fulfillment_id,
    warehouseId: shipment.warehouse_id,
    carrier: shipment.carrier,
    trackingNumber: shipment.tracking_number,
    ...(url ? { trackingUrl: url } : {}),
    status: events.length > 0 ? tracking.status : (shipment.status as TrackingStatus),
    ...(tracking.estimatedDeliveryAtMs !== undefined
      ? { estimatedDeliveryAt: iso(tracking.estimatedDeliveryAtMs) }
      : {}),
    ...(tracking.deliveredAtMs !== undefined ? { deliveredAt: iso(tracking.deliveredAtMs) } : {}),
    shippedAt: iso(Number(shipment.shipped_at)),
    events: tracking.events.map((event) => ({
      carrierEventId: event.carrierEventId,
      status: event.status,
      occurredAt: iso(event.occurredAtMs),
      ...(event.location ? { location: event.location } : {}),
      ...(event.estimatedDeliveryAtMs !== undefined ? { estimatedDeliveryAt: iso(event.estimatedDeliveryAtMs) } : {}),
      ...(event.description ? { description: event.description } : {}),
    })),
  };
}

/**
 * Whether the actor may report on or read this shipment. A carrier client speaks for one carrier
 * (`api_clients.carrier`), a 3PL for its warehouses; anything else answers 404 like a missing
 * shipment, so ids are not a way to probe.
 */
async function assertMayTrack(
  db: Kysely<Database> | Transaction<Database>,
  shipment: Selectable<ShipmentsTable>,
  actor: ShipmentActor,
): Promise<void> {
  if (actor.role === 'admin') return;
  if (actor.role === '3pl') {
    if (actor.warehouses === '*' || actor.warehouses.includes(shipment.warehouse_id)) return;
    throw notFound('shipment');
  }
  if (actor.role === 'carrier') {
    const client = await db
      .selectFrom('api_clients')
      .select('carrier')
      .where('id', '=', actor.subject)
      .executeTakeFirst();
    if (client?.carrier && client.carrier === shipment.carrier.trim().toLowerCase()) return;
  }
  throw notFound('shipment');
}

async function eventsOf(db: Kysely<Database> | Transaction<Database>, shipmentIds: string[]) {
  if (shipmentIds.length === 0) return new Map<string, TrackingEvent[]>();
  const rows = await db
    .selectFrom('shipment_events')
    .selectAll()
    .where('shipment_id', 'in', shipmentIds)
    .orderBy('occurred_at')
    .execute();
  const byShipment = new Map<string, TrackingEvent[]>(shipmentIds.map((id) => [id, []]));
  for (const row of rows) byShipment.get(row.shipment_id)?.push(eventOf(row));
  return byShipment;
}

/**
 * `POST /shipments/{id}/events`: one carrier scan, stored once per `carrierEventId` (a repeat
 * answers the shipment as it stands, `created: false`). The shipment's status, estimate and
 * delivery time are refolded from every event it has (`shipmentTracking`: the latest by time,
 * `delivered` final), so events arriving out of order land in their place. When the last
 * shipment of a fully shipped order is delivered, the order moves to `delivered` by the shared
 * transition table. Webhooks `shipment.updated` and `order.delivered` commit with the change.
 */
export async function recordTrackingEvent(
  db: Kysely<Database>,
  dialect: Dialect,
  shipmentId: string,
  input: TrackingEventInput,
  actor: ShipmentActor,
  context: { source: string; nowMs: number },
): Promise<{ created: boolean; shipment: ShipmentView }> {
  return db.transaction().execute(async (trx) => {
    let query = trx.selectFrom('shipments').selectAll().where('id', '=', shipmentId);
    if (dialect === 'postgres') query = query.forUpdate();
    const shipment = await query.executeTakeFirst();
    if (!shipment) throw notFound('shipment');
    await assertMayTrack(trx, shipment, actor);
    const inserted = await trx
      .insertInto('shipment_events')
      .values({
        shipment_id: shipmentId,
        carrier_event_id: input.carrierEventId,
        status: input.status,
        occurred_at: Date.parse(input.occurredAt),
        location: input.location ?? null,
        estimated_delivery_at: input.estimatedDeliveryAt ? Date.parse(input.estimatedDeliveryAt) : null,
        description: input.description ?? null,
        source: context.source,
        received_at: context.nowMs,
      })
      .onConflict((oc) => oc.columns(['shipment_id', 'carrier_event_id']).doNothing())
      .executeTakeFirst();
    const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
    const events = (await eventsOf(trx, [shipmentId])).get(shipmentId) ?? [];
    if (created && events.length > limits.trackingEventsPerShipmentMax) {
      throw conflict(
        'too_many_tracking_events',
        `a shipment keeps at most ${limits.trackingEventsPerShipmentMax} events`,
      );
    }
    const tracking = shipmentTracking(events);
    const changed =
      tracking.status !== shipment.status ||
      (tracking.estimatedDeliveryAtMs ?? null) !== numberOrNull(shipment.estimated_delivery_at) ||
      (tracking.deliveredAtMs ?? null) !== numberOrNull(shipment.delivered_at);
    if (created && changed) {
      await trx
        .updateTable('shipments')
        .set({
          status: tracking.status,
          estimated_delivery_at: tracking.estimatedDeliveryAtMs ?? null,
          delivered_at: tracking.deliveredAtMs ?? null,
          updated_at: context.nowMs,
        })
        .where('id', '=', shipmentId)
        .execute();
      const number = await trx
        .selectFrom('orders')
        .select('number')
        .where('id', '=', shipment.order_id)
        .executeTakeFirst();
      await emitWebhookEvent(trx, {
        type: 'shipment.updated',
        data: {
          id: shipment.id,
          orderId: shipment.order_id,
          orderNumber: number?.number ?? '',
          fulfillmentOrderId: shipment.fulfillment_id,
          warehouseId: shipment.warehouse_id,
          carrier: shipment.carrier,
          trackingNumber: shipment.tracking_number,
          status: tracking.status,
          lines: JSON.parse(shipment.lines_json) as { sku: string; quantity: number }[],
          shippedAt: iso(Number(shipment.shipped_at)),
        },
        warehouseId: shipment.warehouse_id,
        nowMs: context.nowMs,
      });
      if (tracking.status === 'delivered' && shipment.status !== 'delivered') {
        await deliverOrderIfComplete(trx, dialect, shipment.order_id, context.nowMs);
      }
    }
    // The customer hears of the shipment's first out-for-delivery scan (once per shipment: a repeat
    // or a second such scan is a no-op), unless the parcel is already known to be delivered.
    if (created && input.status === 'out_for_delivery' && tracking.status !== 'delivered') {
      await recordOutForDelivery(trx, { id: shipment.id, orderId: shipment.order_id }, context.nowMs);
    }
    const stored = await trx.selectFrom('shipments').selectAll().where('id', '=', shipmentId).executeTakeFirstOrThrow();
    return { created, shipment: viewOf(stored, events) };
  });
}

const numberOrNull = (value: number | null) => (value === null ? null : Number(value));

/** The order is delivered once it is fully shipped and every one of its shipments is. */
async function deliverOrderIfComplete(
  trx: Transaction<Database>,
  dialect: Dialect,
  orderId: string,
  nowMs: number,
): Promise<void> {
  let query = trx.selectFrom('orders').selectAll().where('id', '=', orderId);
  if (dialect === 'postgres') query = query.forUpdate();
  const order = await query.executeTakeFirstOrThrow();
  const from = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  if (from !== 'shipped') return; // units still to ship: their shipments will decide
  const open = await trx
    .selectFrom('shipments')
    .select(sql<number>`count(*)`.as('n'))
    .where('order_id', '=', orderId)
    .where('status', '!=', 'delivered')
    .executeTakeFirstOrThrow();
  if (Number(open.n) > 0) return;
  const next = transitionOrder(from, 'delivered');
  if (!next.ok) return;
  await trx.updateTable('orders').set({ status: next.status, updated_at: nowMs }).where('id', '=', orderId).execute();
  await appendHistory(trx, orderId, 'delivered', from, next.status, nowMs, 'every shipment delivered');
  await emitOrderTransition(trx, { orderId, event: 'delivered', from, to: next.status }, nowMs, ['order.delivered']);
}

/** `GET /shipments/{orderId}`: an order's shipments with their timelines. */
export async function listOrderShipments(
  db: Kysely<Database>,
  orderId: string,
  scope: string | '*',
): Promise<ShipmentView[]> {
  const order = await db.selectFrom('orders').select(['id', 'client_id']).where('id', '=', orderId).executeTakeFirst();
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  const shipments = await db
    .selectFrom('shipments')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('shipped_at')
    .orderBy('id')
    .execute();
  const events = await eventsOf(
    db,
    shipments.map((shipment) => shipment.id),
  );
  return shipments.map((shipment) => viewOf(shipment, events.get(shipment.id) ?? []));
}

export type OrderTracking = {
  orderId: string;
  orderNumber: string;
  status: OrderStatus;
  estimatedDeliveryAt?: string;
  deliveredAt?: string;
  shipments: ShipmentView[];
};

/**
 * `GET /orders/{id}/tracking`: the order's status, when it should arrive (the latest estimate of
 * its undelivered shipments), when it did (the last delivery, once the order is delivered), and
 * each shipment's timeline.
 */
export async function getOrderTracking(
  db: Kysely<Database>,
  orderId: string,
  scope: string | '*',
  nowMs: number,
): Promise<OrderTracking> {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  const shipments = await listOrderShipments(db, orderId, '*');
  const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const pending = shipments.filter((shipment) => shipment.status !== 'delivered');
  const estimates = pending.flatMap((shipment) => (shipment.estimatedDeliveryAt ? [shipment.estimatedDeliveryAt] : []));
  const deliveries = shipments.flatMap((shipment) => (shipment.deliveredAt ? [shipment.deliveredAt] : []));
  return {
    orderId: order.id,
    orderNumber: order.number,
    status,
    ...(estimates.length > 0 ? { estimatedDeliveryAt: estimates.sort().at(-1) } : {}),
    ...(status === 'delivered' && deliveries.length > 0 ? { deliveredAt: deliveries.sort().at(-1) } : {}),
    shipments,
  };
}

/** The shipment a carrier's tracking number names (the aggregator's webhook knows no shipment id). */
export async function shipmentByTrackingNumber(
  db: Kysely<Database>,
  carrier: string,
  trackingNumber: string,
): Promise<Selectable<ShipmentsTable> | undefined> {
  const rows = await db.selectFrom('shipments').selectAll().where('tracking_number', '=', trackingNumber).execute();
  const wanted = carrier.trim().toLowerCase();
  return rows.find((row) => row.carrier.trim().toLowerCase() === wanted) ?? (rows.length === 1 ? rows[0] : undefined);
}
