import { parseSupplyReference } from '@dovetail/shared';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { settleExpiredPromises } from '../holds/promise-ledger.ts';
import { openFulfillmentOrder } from '../orders/dispatch.ts';

type Dialect = 'sqlite' | 'postgres';

/**
 * A `receive` an edge recorded against a purchase order or a production request (its reference
 * names it: docs/catalog.md, "Pre-orders and made-to-order"), applied in the push's transaction right
 * after the event was folded into the replica (so `on_hand` already counts the units).
 *
 * - purchase order: the line's received units leave `incoming`; as many units promised to
 *   pre-orders of the partition leave `preordered`, oldest promise first, paid orders before holds:
 *   a paid order's become committed units of a new fulfillment order sent to the warehouse, a
 *   hold's become ordinary held units (a hold line). So `preordered ≤ incoming` still holds.
 * - production request: the units are committed to the order that asked for them and a fulfillment
 *   order is opened for them at the producing warehouse.
 *
 * A reference naming nothing open here (canceled, another warehouse's, a SKU not on it) is an
 * ordinary receive; units beyond what is still expected are ordinary stock.
 */
export async function applySupplyReceipt(
  trx: Transaction<Database>,
  dialect: Dialect,
  warehouseId: string,
  event: { sku: string; quantity: number; reference?: string | undefined },
  nowMs: number,
): Promise<void> {
  const target = parseSupplyReference(event.reference);
  if (!target) return;
  if (dialect === 'postgres')
    await sql`select 1 from stock_partitions where warehouse_id = ${warehouseId} and sku = ${event.sku} for update`.execute(
      trx,
    );
  if (target.kind === 'purchase_order') await receivePurchase(trx, warehouseId, target.id, event, nowMs);
  else await receiveProduction(trx, warehouseId, target.id, event, nowMs);
}

async function receivePurchase(
  trx: Transaction<Database>,
  warehouseId: string,
  purchaseOrderId: string,
  event: { sku: string; quantity: number },
  nowMs: number,
): Promise<void> {
  const line = await trx
    .selectFrom('purchase_order_lines as l')
    .innerJoin('purchase_orders as o', 'o.id', 'l.purchase_order_id')
    .select(['l.line_no', 'l.quantity', 'l.received'])
    .where('l.purchase_order_id', '=', purchaseOrderId)
    .where('l.warehouse_id', '=', warehouseId)
    .where('l.sku', '=', event.sku)
    .where('l.open', '=', 1)
    .where('o.status', '=', 'open')
    .executeTakeFirst();
  if (!line) return;
  const units = Math.min(event.quantity, Number(line.quantity) - Number(line.received));
  const received = Number(line.received) + units;
  await trx
    .updateTable('purchase_order_lines')
    .set({ received, open: received >= Number(line.quantity) ? 0 : 1 })
    .where('purchase_order_id', '=', purchaseOrderId)
    .where('line_no', '=', line.line_no)
    .execute();
  const stillOpen = await trx
    .selectFrom('purchase_order_lines')
    .select('line_no')
    .where('purchase_order_id', '=', purchaseOrderId)
    .where('open', '=', 1)
    .executeTakeFirst();
  if (!stillOpen)
    await trx
      .updateTable('purchase_orders')
      .set({ status: 'received', updated_at: nowMs })
      .where('id', '=', purchaseOrderId)
      .execute();
  await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ incoming: eb('incoming', '-', units) }))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', event.sku)
    .execute();

  // Pre-orders of the partition become ordinary units, as far as the receipt goes.
  await settleExpiredPromises(trx, warehouseId, event.sku, nowMs);
  const promises = await trx
    .selectFrom('supply_promises')
    .selectAll()
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', event.sku)
    .where('kind', '=', 'preorder')
    .where('counted', '=', 1)
    .where('status', 'in', ['waiting', 'held'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  promises.sort((a, b) => (a.status === b.status ? 0 : a.status === 'waiting' ? -1 : 1));
  let left = units;
  for (const promise of promises) {
    if (left === 0) break;
    const take = Math.min(left, Number(promise.remaining));
    left -= take;
    const remaining = Number(promise.remaining) - take;
    await trx
      .updateTable('supply_promises')
      .set({ remaining, ...(remaining === 0 ? { status: 'supplied', counted: 0 } : {}) })
      .where('id', '=', promise.id)
      .execute();
    if (promise.status === 'waiting' && promise.order_id !== null) {
      await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ preordered: eb('preordered', '-', take), committed: eb('committed', '+', take) }))
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', event.sku)
        .execute();
      const order = await trx
        .selectFrom('orders')
        .selectAll()
        .where('id', '=', promise.order_id)
        .executeTakeFirstOrThrow();
      await openFulfillmentOrder(trx, order, warehouseId, [{ sku: event.sku, quantity: take }], {
        paidAtMs: nowMs,
        nowMs,
        reason: 'payment',
      });
    } else {
      await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ preordered: eb('preordered', '-', take), reserved: eb('reserved', '+', take) }))
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', event.sku)
        .execute();
      // Into the hold's line of this partition when it has one: a fulfillment order has one line per SKU.
      const line = await trx
        .selectFrom('hold_lines')
        .select(['line_no'])
        .where('hold_id', '=', promise.hold_id)
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', event.sku)
        .where('counted', '=', 1)
        .executeTakeFirst();
      if (line) {
        await trx
          .updateTable('hold_lines')
          .set((eb) => ({ quantity: eb('quantity', '+', take) }))
          .where('hold_id', '=', promise.hold_id)
          .where('line_no', '=', line.line_no)
          .execute();
        continue;
      }
      const hold = await trx
        .selectFrom('holds')
        .select('client_id')
        .where('id', '=', promise.hold_id)
        .executeTakeFirstOrThrow();
      const last = await trx
        .selectFrom('hold_lines')
        .select((eb) => eb.fn.max('line_no').as('line_no'))
        .where('hold_id', '=', promise.hold_id)
        .executeTakeFirst();
      await trx
        .insertInto('hold_lines')
        .values({
          hold_id: promise.hold_id,
          client_id: hold.client_id,
          line_no: last?.line_no === null || last?.line_no === undefined ? 0 : Number(last.line_no) + 1,
          warehouse_id: warehouseId,
          sku: event.sku,
          quantity: take,
          expires_at: Number(promise.expires_at),
          counted: 1,
        })
        .execute();
    }
  }
}

async function receiveProduction(
  trx: Transaction<Database>,
  warehouseId: string,
  productionId: string,
  event: { sku: string; quantity: number },
  nowMs: number,
): Promise<void> {
  const request = await trx
    .selectFrom('production_requests')
    .selectAll()
    .where('id', '=', productionId)
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', event.sku)
    .where('status', '=', 'requested')
    .executeTakeFirst();
  if (!request) return;
  const units = Math.min(event.quantity, Number(request.quantity) - Number(request.received));
  const received = Number(request.received) + units;
  await trx
    .updateTable('production_requests')
    .set({ received, updated_at: nowMs, ...(received >= Number(request.quantity) ? { status: 'completed' } : {}) })
    .where('id', '=', productionId)
    .execute();
  const promise = await trx
    .selectFrom('supply_promises')
    .selectAll()
    .where('id', '=', request.promise_id)
    .where('status', '=', 'waiting')
    .executeTakeFirst();
  if (!promise || units === 0) return;
  const take = Math.min(units, Number(promise.remaining));
  const remaining = Number(promise.remaining) - take;
  await trx
    .updateTable('supply_promises')
    .set({ remaining, ...(remaining === 0 ? { status: 'supplied' } : {}) })
    .where('id', '=', promise.id)
    .execute();
  // The finished units are this order's: committed to it as they arrive (the receive made them on hand).
  await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ committed: eb('committed', '+', take) }))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', event.sku)
    .execute();
  const order = await trx.selectFrom('orders').selectAll().where('id', '=', request.order_id).executeTakeFirstOrThrow();
  await openFulfillmentOrder(trx, order, warehouseId, [{ sku: event.sku, quantity: take }], {
    paidAtMs: nowMs,
    nowMs,
    reason: 'payment',
  });
}
