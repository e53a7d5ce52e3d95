import { newId, notFound, unprocessable } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';

export type ManualShipmentInput = {
  orderId: string;
  fulfillmentId?: string | undefined;
  carrier: string;
  trackingNumber: string;
  lines?: { sku: string; quantity: number }[] | undefined;
};

/**
 * `POST /shipments`: a parcel sent outside an edge or 3PL flow (a replacement part, a courier booked
 * by hand) recorded so that it is tracked like any other. It moves no stock and no fulfillment
 * status: those belong to the warehouse that ships. It hangs off one of the order's fulfillment
 * orders (named, or the only one); an order with none was never paid, and ships nothing.
 */
export async function createManualShipment(
  db: Kysely<Database>,
  input: ManualShipmentInput,
  nowMs: number,
): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const order = await trx
      .selectFrom('orders')
      .select(['id', 'number'])
      .where('id', '=', input.orderId)
      .executeTakeFirst();
    if (!order) throw notFound('order');
    const fulfillments = await trx
      .selectFrom('fulfillments')
      .select(['id', 'warehouse_id'])
      .where('order_id', '=', input.orderId)
      .execute();
    const fulfillment = input.fulfillmentId
      ? fulfillments.find((candidate) => candidate.id === input.fulfillmentId)
      : fulfillments.length === 1
        ? fulfillments[0]
        : undefined;
    if (!fulfillment) {
      throw unprocessable(
        fulfillments.length === 0 ? 'order_not_fulfilled' : 'fulfillment_required',
        fulfillments.length === 0
          ? 'the order has no fulfillment order (is it paid?)'
          : 'name the fulfillmentId this shipment belongs to',
        { fulfillmentIds: fulfillments.map((candidate) => candidate.id) },
      );
    }
    const lines =
      input.lines ??
      (
        await trx.selectFrom('order_lines').select(['sku', 'quantity']).where('order_id', '=', input.orderId).execute()
      ).map((line) => ({ sku: line.sku, quantity: Number(line.quantity) }));
    const id = newId();
    await trx
      .insertInto('shipments')
      .values({
        id,
        order_id: input.orderId,
        fulfillment_id: fulfillment.id,
        warehouse_id: fulfillment.warehouse_id,
        carrier: input.carrier,
        tracking_number: input.trackingNumber,
        packages_json: '[]',
        lines_json: JSON.stringify(lines),
        status: 'in_transit',
        shipped_at: nowMs,
        created_at: nowMs,
        estimated_delivery_at: null,
        delivered_at: null,
        updated_at: null,
      })
      .execute();
    await emitWebhookEvent(trx, {
      type: 'shipment.created',
      data: {
        id,
        orderId: input.orderId,
        orderNumber: order.number,
        fulfillmentOrderId: fulfillment.id,
        warehouseId: fulfillment.warehouse_id,
        carrier: input.carrier,
        trackingNumber: input.trackingNumber,
        status: 'in_transit',
        lines,
        shippedAt: new Date(nowMs).toISOString(),
      },
      warehouseId: fulfillment.warehouse_id,
      nowMs,
    });
    return id;
  });
}
