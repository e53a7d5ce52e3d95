import {
  type AllocationStatus,
  type Configuration,
  type FulfillmentOrderStatus,
  newId,
  transitionFulfillmentCancel,
  type WarehouseCreate,
  warehouseChannel,
  warehouseHasEdge,
} from '@dovetail/shared';
import type { Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { erased } from '../db/personal-data.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import { openAddress, openCustomer } from './personal.ts';
import type { FulfillmentsTable, OrdersTable } from './tables.ts';

/**
 * How a warehouse learns of a fulfillment order and of a cancel request to it (docs/architecture.md, "Ownership" and "Sync protocol"): a
 * warehouse with an edge replicates them from its own downstream channel; a warehouse with none (a
 * 3PL or dropshipper) has no channel anybody reads, so nothing is appended there and its client finds
 * the order at `GET /fulfillment-orders` and answers over REST instead. Either way the webhook events
 * `fulfillment_order.requested` and `fulfillment_order.cancel_requested` are emitted in the same
 * transaction (the warehouse's 3PL endpoints and admin endpoints receive them). One place decides,
 * for payment and for shortage re-routing alike.
 */

type Order = Selectable<OrdersTable>;
type Fulfillment = Selectable<FulfillmentsTable>;

/** The configuration of each configured line of an order, by SKU (an order has one line per SKU). */
export async function lineConfigurations(
  trx: Transaction<Database>,
  orderId: string,
): Promise<Map<string, Configuration>> {
  const rows = await trx
    .selectFrom('order_lines')
    .select(['sku', 'configuration_json'])
    .where('order_id', '=', orderId)
    .where('configuration_json', 'is not', null)
    .execute();
  return new Map(rows.map((row) => [row.sku, JSON.parse(row.configuration_json as string) as Configuration]));
}

async function hasEdge(trx: Transaction<Database>, warehouseId: string): Promise<boolean> {
  const warehouse = await trx
    .selectFrom('warehouses')
    .select('kind')
    .where('id', '=', warehouseId)
    .executeTakeFirstOrThrow();
  return warehouseHasEdge(warehouse.kind as WarehouseCreate['kind']);
}

/**
 * Opens a fulfillment order at `warehouseId` with one committed allocation per line (the caller has
 * already moved the units into the partition's `committed` under its lock) and sends it to the
 * warehouse. Returns its id.
 */
export async function openFulfillmentOrder(
  trx: Transaction<Database>,
  order: Order,
  warehouseId: string,
  lines: ReadonlyArray<{ sku: string; quantity: number }>,
  context: { paidAtMs: number; nowMs: number; reason: 'payment' | 'shortage_reroute' },
): Promise<string> {
  const fulfillmentId = newId();
  const requested: FulfillmentOrderStatus = 'requested';
  const committed: AllocationStatus = 'committed';
  await trx
    .insertInto('fulfillments')
    .values({
      id: fulfillmentId,
      order_id: order.id,
      warehouse_id: warehouseId,
      status: requested,
      created_at: context.nowMs,
      cancel_state: null,
      packages_json: null,
    })
    .execute();
  await trx
    .insertInto('allocations')
    .values(
      lines.map((line) => ({
        id: newId(),
        order_id: order.id,
        fulfillment_id: fulfillmentId,
        warehouse_id: warehouseId,
        sku: line.sku,
        quantity: line.quantity,
        status: committed,
        paid_at: context.paidAtMs,
      })),
    )
    .execute();
  // What the warehouse makes or picks: each line as the buyer configured it (docs/catalog.md).
  const configurations = await lineConfigurations(trx, order.id);
  const requestedLines = lines.map((line) => {
    const configuration = configurations.get(line.sku);
    return configuration
      ? { sku: line.sku, quantity: line.quantity, configuration }
      : { sku: line.sku, quantity: line.quantity };
  });
  const customer = await openCustomer(trx, order.customer_json);
  const personal = customer.email === erased ? undefined : { email: customer.email };
  if (await hasEdge(trx, warehouseId)) {
    // The edge of that warehouse replicates its fulfillment orders from its own channel (docs/architecture.md, "Sync protocol").
    await appendDownstream(
      trx,
      warehouseChannel(warehouseId),
      'fulfillment.requested',
      {
        fulfillmentId,
        orderId: order.id,
        orderNumber: order.number,
        lines: requestedLines,
        shipTo: { name: customer.name, address: await openAddress(trx, order.shipping_json) },
      },
      context.nowMs,
      // Stored sealed under the customer's key, opened as it is sent to the edge (docs/operations.md, "Personal data").
      personal,
    );
  }
  await emitWebhookEvent(trx, {
    type: 'fulfillment_order.requested',
    data: {
      id: fulfillmentId,
      orderId: order.id,
      orderNumber: order.number,
      warehouseId,
      lines: requestedLines,
      shippingAddress: await openAddress(trx, order.shipping_json),
      reason: context.reason,
      requestedAt: new Date(context.nowMs).toISOString(),
    },
    warehouseId,
    nowMs: context.nowMs,
    // Stored sealed under the customer's key, opened by the webhook worker at send time (docs/operations.md, "Personal data").
    ...(personal ? { personal } : {}),
  });
  return fulfillmentId;
}

/**
 * Asks the warehouse of an open fulfillment order to cancel it (the order was canceled after
 * payment): its cancel state becomes `requested` by the shared table, and an edge is sent the request
 * on its channel; a 3PL sees it on the fulfillment order and answers over REST. False when the table
 * does not let it be asked (it already answered a request).
 */
export async function requestFulfillmentCancel(
  trx: Transaction<Database>,
  order: Order,
  fulfillment: Fulfillment,
  reason: string | undefined,
  nowMs: number,
): Promise<boolean> {
  const next = transitionFulfillmentCancel(fulfillment.cancel_state, 'request');
  if (!next.ok) return false;
  await trx.updateTable('fulfillments').set({ cancel_state: next.state }).where('id', '=', fulfillment.id).execute();
  if (await hasEdge(trx, fulfillment.warehouse_id)) {
    await appendDownstream(
      trx,
      warehouseChannel(fulfillment.warehouse_id),
      'fulfillment.cancel_requested',
      { fulfillmentId: fulfillment.id, orderId: order.id, reason: reason ?? null },
      nowMs,
    );
  }
  await emitWebhookEvent(trx, {
    type: 'fulfillment_order.cancel_requested',
    data: {
      id: fulfillment.id,
      orderId: order.id,
      orderNumber: order.number,
      warehouseId: fulfillment.warehouse_id,
      requestedAt: new Date(nowMs).toISOString(),
    },
    warehouseId: fulfillment.warehouse_id,
    nowMs,
  });
  return true;
}
