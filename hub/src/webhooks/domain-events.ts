import type { OrderStatus, WebhookOrder } from '@dovetail/shared';
import type { Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { anySubscriber, emitWebhookEvent } from './emit.ts';

/**
 * Order events from order status transitions: the payload is built from the rows the caller's
 * transaction has just written and emitted in that transaction. Orders call it from the one place
 * every transition passes (appendHistory) for `order.created`, `order.paid` and `order.canceled`
 * (whichever path made the change: the API, an edge's or a 3PL's answer to a cancel request);
 * `order.shipped` is emitted where shipments are recorded (fulfillment/facts.ts) and
 * `order.delivered` by carrier tracking and by the staff status change, each once.
 */

const iso = (ms: number) => new Date(ms).toISOString();

/** Which `order.*` event a status transition is, if any. */
export type OrderWebhookType = 'order.created' | 'order.paid' | 'order.canceled' | 'order.shipped' | 'order.delivered';

export function orderEventType(event: string, from: OrderStatus | null, to: OrderStatus): OrderWebhookType | undefined {
  if (event === 'order_created') return 'order.created';
  if (from === to) return undefined;
  if (event === 'payment_confirmed') return 'order.paid';
  if (to === 'canceled') return 'order.canceled';
  if (to === 'shipped') return 'order.shipped';
  if (to === 'delivered') return 'order.delivered';
  return undefined;
}

/**
 * Called with every order status transition (orders' appendHistory): emits `order.created`,
 * `order.paid`, `order.canceled`, `order.shipped` or `order.delivered` when the transition is one,
 * scoped to the order's API client (its storefront endpoints) and admin endpoints.
 */
export async function emitOrderTransition(
  trx: Transaction<Database>,
  transition: { orderId: string; event: string; from: OrderStatus | null; to: OrderStatus; note?: string | undefined },
  nowMs: number,
  only: ReadonlyArray<OrderWebhookType>,
): Promise<void> {
  const type = orderEventType(transition.event, transition.from, transition.to);
  if (!type || !only.includes(type) || !(await anySubscriber(trx, type))) return;
  const order = await trx
    .selectFrom('orders')
    .select(['id', 'number', 'client_id', 'currency', 'total'])
    .where('id', '=', transition.orderId)
    .executeTakeFirstOrThrow();
  const lines = await trx
    .selectFrom('order_lines')
    .select(['sku', 'quantity'])
    .where('order_id', '=', transition.orderId)
    .orderBy('line_no')
    .execute();
  const base: WebhookOrder = {
    id: order.id,
    number: order.number,
    status: transition.to,
    previousStatus: transition.from,
    currency: order.currency,
    total: Number(order.total),
    lines: lines.map((line) => ({ sku: line.sku, quantity: Number(line.quantity) })),
    updatedAt: iso(nowMs),
  };
  const scope = { clientId: order.client_id, nowMs };
  if (type === 'order.canceled') {
    await emitWebhookEvent(trx, { type, data: { ...base, reason: transition.note ?? null }, ...scope });
  } else if (type === 'order.shipped') {
    const shipments = await trx
      .selectFrom('shipments')
      .select(['id', 'fulfillment_id', 'warehouse_id', 'carrier', 'tracking_number', 'shipped_at'])
      .where('order_id', '=', transition.orderId)
      .orderBy('shipped_at')
      .orderBy('id')
      .execute();
    await emitWebhookEvent(trx, {
      type,
      data: {
        ...base,
        shipments: shipments.map((shipment) => ({
          id: shipment.id,
          fulfillmentOrderId: shipment.fulfillment_id,
          warehouseId: shipment.warehouse_id,
          carrier: shipment.carrier,
          trackingNumber: shipment.tracking_number,
          shippedAt: iso(Number(shipment.shipped_at)),
        })),
      },
      ...scope,
    });
  } else {
    await emitWebhookEvent(trx, { type, data: base, ...scope });
  }
}
