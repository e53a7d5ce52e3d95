import { type OrderStatus, type TrackingStatus, carrierTrackingUrl } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { vaultOf } from '../db/personal-data.ts';
import { statusAt } from '../orders/service.ts';
import { listOrderShipments } from './tracking.ts';

/**
 * What the customer's tracking page may show: nothing that identifies or locates a person beyond
 * a first name and a city (the link can be forwarded, screenshotted, or guessed at by no one but
 * still seen by anyone who holds it). No e-mail, phone, street or postal code.
 */
export type TrackingPage = {
  orderNumber: string;
  firstName: string;
  city: string;
  status: OrderStatus;
  placedAt: string;
  estimatedDeliveryAt?: string;
  deliveredAt?: string;
  items: { name: string; quantity: number }[];
  shipments: { carrier: string; trackingNumber: string; trackingUrl?: string; status: TrackingStatus }[];
  /** Oldest first: the order's own steps and every carrier scan, in words. */
  timeline: { at: string; label: string; location?: string }[];
};

const tokenPattern = /^[A-Za-z0-9_-]{22,64}$/;

const orderSteps: Partial<Record<string, string>> = {
  order_created: 'Order placed',
  payment_confirmed: 'Payment confirmed: being prepared',
  some_packed: 'Part of your order is packed',
  all_packed: 'Packed and ready to leave',
  cancel_requested: 'Cancellation requested',
  cancel_accepted: 'Order cancelled',
  delivered: 'Delivered',
  return_requested: 'Return requested',
  return_received: 'Return received',
};

const scanWords: Record<TrackingStatus, string> = {
  pre_transit: 'Label created, waiting for the carrier',
  in_transit: 'On its way',
  out_for_delivery: 'Out for delivery',
  delivered: 'Delivered',
  available_for_pickup: 'Ready to pick up',
  return_to_sender: 'Being returned to us',
  failure: 'Delivery problem: the carrier will contact you',
  cancelled: 'Shipment cancelled by the carrier',
};

/** The page for one tracking token, or undefined for any token that opens nothing (one answer for all). */
export async function trackingPage(
  db: Kysely<Database>,
  token: string,
  nowMs: number,
): Promise<TrackingPage | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  const order = await db.selectFrom('orders').selectAll().where('tracking_token', '=', token).executeTakeFirst();
  if (!order) return undefined;
  const [lines, history, shipments] = await Promise.all([
    db
      .selectFrom('order_lines as l')
      .innerJoin('variants as v', 'v.sku', 'l.sku')
      .innerJoin('products as p', 'p.id', 'v.product_id')
      .select(['p.name', 'v.options_json', 'l.quantity'])
      .where('l.order_id', '=', order.id)
      .orderBy('l.line_no')
      .execute(),
    db.selectFrom('order_events').selectAll().where('order_id', '=', order.id).orderBy('seq').execute(),
    listOrderShipments(db, order.id, '*'),
  ]);
  const vault = vaultOf(db);
  const customer = (await vault.open<{ name?: string }>(db, order.customer_json)) ?? {};
  const address = (await vault.open<{ city?: string }>(db, order.shipping_json)) ?? {};
  const timeline: TrackingPage['timeline'] = [];
  // A carrier's delivery scan tells when it arrived; the order's own `delivered` step (the hub
  // learning it) only stands in when nobody scanned it (staff set it by hand).
  const scannedDelivery = shipments.some((shipment) => shipment.events.some((scan) => scan.status === 'delivered'));
  // Once a parcel has left, "packed" says nothing new, and its time (when the hub heard of it) may
  // fall after the warehouse's ship time: it is left out rather than shown out of order.
  const shipped = shipments.length > 0;
  for (const step of history) {
    if (step.event === 'delivered' && scannedDelivery) continue;
    if (shipped && (step.event === 'some_packed' || step.event === 'all_packed')) continue;
    const label = orderSteps[step.event];
    if (label) timeline.push({ at: new Date(Number(step.at)).toISOString(), label });
  }
  for (const shipment of shipments) {
    timeline.push({ at: shipment.shippedAt, label: `Shipped with ${shipment.carrier}` });
    for (const scan of shipment.events) {
      timeline.push({
        at: scan.occurredAt,
        label: scanWords[scan.status],
        ...(scan.location ? { location: scan.location } : {}),
      });
    }
  }
  timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const status = statusAt(order.status as OrderStatus, Number(order.expires_at), nowMs);
  const pending = shipments.filter((shipment) => shipment.status !== 'delivered');
  const estimate = pending
    .flatMap((shipment) => (shipment.estimatedDeliveryAt ? [shipment.estimatedDeliveryAt] : []))
    .sort()
    .at(-1);
  const delivered = shipments
    .flatMap((shipment) => (shipment.deliveredAt ? [shipment.deliveredAt] : []))
    .sort()
    .at(-1);
  return {
    orderNumber: order.number,
    firstName: (customer.name ?? '').trim().split(/\s+/)[0] ?? '',
    city: address.city ?? '',
    status,
    placedAt: new Date(Number(order.created_at)).toISOString(),
    ...(estimate && status !== 'delivered' ? { estimatedDeliveryAt: estimate } : {}),
    ...(delivered && status === 'delivered' ? { deliveredAt: delivered } : {}),
    items: lines.map((line) => {
      const options = Object.values(JSON.parse(line.options_json) as Record<string, string>).join(', ');
      return { name: options ? `${line.name} (${options})` : line.name, quantity: Number(line.quantity) };
    }),
    shipments: shipments.map((shipment) => {
      const url = carrierTrackingUrl(shipment.carrier, shipment.trackingNumber);
      return {
        carrier: shipment.carrier,
        trackingNumber: shipment.trackingNumber,
        ...(url ? { trackingUrl: url } : {}),
        status: shipment.status,
      };
    }),
    timeline,
  };
}
