import {
  type Configuration,
  conflict,
  newId,
  type WarehouseCreate,
  warehouseChannel,
  warehouseHasEdge,
} from '@dovetail/shared';
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { holdPromises, type PromiseView } from '../holds/supply.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import type { OrdersTable } from './tables.ts';

type Dialect = 'sqlite' | 'postgres';
type Order = Selectable<OrdersTable>;

/**
 * An order's lines promised against supply (docs/catalog.md, "Pre-orders and made-to-order"): held
 * with the hold until payment, then `waiting` until the units arrive (supply/receipts.ts allocates
 * them and opens the fulfillment order), or released when the order is canceled.
 */

/** Units of each SKU a hold promised against supply and still owes (an order line counts them). */
export async function promisedQuantities(trx: Transaction<Database>, holdId: string): Promise<Map<string, number>> {
  const rows = await trx
    .selectFrom('supply_promises')
    .select(['sku', 'remaining'])
    .where('hold_id', '=', holdId)
    .where('status', '=', 'held')
    .execute();
  const units = new Map<string, number>();
  for (const row of rows) units.set(row.sku, (units.get(row.sku) ?? 0) + Number(row.remaining));
  return units;
}

async function hasEdge(trx: Transaction<Database>, warehouseId: string): Promise<boolean> {
  const warehouse = await trx.selectFrom('warehouses').select('kind').where('id', '=', warehouseId).executeTakeFirst();
  return warehouse !== undefined && warehouseHasEdge(warehouse.kind as WarehouseCreate['kind']);
}

/**
 * At payment: the hold's promises become the order's. A pre-order stays inside `preordered` and
 * waits for its purchase order; a made-to-order line becomes a production request at its producing
 * warehouse (`production.requested` to its edge and as a webhook). A promise whose hold expired
 * before payment cannot be paid for (409 `hold_expired`), as for stock.
 */
export async function confirmPromises(
  trx: Transaction<Database>,
  dialect: Dialect,
  order: Order,
  nowMs: number,
): Promise<number> {
  const all = await trx
    .selectFrom('supply_promises')
    .selectAll()
    .where('hold_id', '=', order.hold_id)
    .orderBy('warehouse_id')
    .orderBy('sku')
    .execute();
  // A promise given back (the hold released, or settled past its expiry) cannot be paid for, as a hold line cannot.
  if (all.some((promise) => promise.status === 'released' && promise.order_id === null))
    throw conflict('hold_expired', 'the hold was released or expired before payment; take a new one', {
      holdId: order.hold_id,
    });
  const promises = all.filter((promise) => promise.status === 'held');
  for (const promise of promises) {
    if (dialect === 'postgres' && promise.kind === 'preorder')
      await sql`select 1 from stock_partitions where warehouse_id = ${promise.warehouse_id} and sku = ${promise.sku} for update`.execute(
        trx,
      );
    const expired =
      Number(promise.expires_at) <= nowMs || (promise.kind === 'preorder' && Number(promise.counted) !== 1);
    if (expired)
      throw conflict('hold_expired', 'the hold expired before payment; its stock may be sold', {
        holdId: order.hold_id,
      });
    await trx
      .updateTable('supply_promises')
      .set({ status: 'waiting', order_id: order.id })
      .where('id', '=', promise.id)
      .execute();
    if (promise.kind !== 'production') continue;
    const configurationRow = await trx
      .selectFrom('hold_configurations')
      .select('configuration_json')
      .where('hold_id', '=', order.hold_id)
      .where('sku', '=', promise.sku)
      .executeTakeFirst();
    const configuration = configurationRow
      ? (JSON.parse(configurationRow.configuration_json) as Configuration)
      : undefined;
    const leadTimeDays = Math.round((Number(promise.expected_at) - Number(promise.created_at)) / 86_400_000);
    const id = newId();
    await trx
      .insertInto('production_requests')
      .values({
        id,
        promise_id: promise.id,
        order_id: order.id,
        warehouse_id: promise.warehouse_id,
        sku: promise.sku,
        quantity: Number(promise.remaining),
        received: 0,
        status: 'requested',
        configuration_json: configuration ? JSON.stringify(configuration) : null,
        lead_time_days: leadTimeDays,
        due_at: Number(promise.expected_at),
        created_at: nowMs,
        updated_at: nowMs,
      })
      .execute();
    if (await hasEdge(trx, promise.warehouse_id))
      await appendDownstream(
        trx,
        warehouseChannel(promise.warehouse_id),
        'production.requested',
        {
          productionId: id,
          orderId: order.id,
          orderNumber: order.number,
          sku: promise.sku,
          quantity: Number(promise.remaining),
          ...(configuration ? { configuration } : {}),
          dueAt: Number(promise.expected_at),
        },
        nowMs,
      );
    await emitWebhookEvent(trx, {
      type: 'production.requested',
      data: {
        id,
        orderId: order.id,
        orderNumber: order.number,
        warehouseId: promise.warehouse_id,
        sku: promise.sku,
        quantity: Number(promise.remaining),
        ...(configuration ? { configuration } : {}),
        leadTimeDays,
        dueAt: new Date(Number(promise.expected_at)).toISOString(),
        requestedAt: new Date(nowMs).toISOString(),
      },
      warehouseId: promise.warehouse_id,
      nowMs,
    });
  }
  return promises.length;
}

/**
 * A paid order canceled: what still waits for supply is released at once (the hub owns it; no
 * warehouse holds it yet): pre-orders leave `preordered`, production requests not yet fulfilled are
 * canceled and their warehouse told. Answers how many promises were released.
 */
export async function releaseWaitingPromises(
  trx: Transaction<Database>,
  dialect: Dialect,
  orderId: string,
  nowMs: number,
): Promise<number> {
  const promises = await trx
    .selectFrom('supply_promises')
    .selectAll()
    .where('order_id', '=', orderId)
    .where('status', '=', 'waiting')
    .orderBy('warehouse_id')
    .orderBy('sku')
    .execute();
  for (const promise of promises) {
    if (promise.kind === 'preorder') {
      if (dialect === 'postgres')
        await sql`select 1 from stock_partitions where warehouse_id = ${promise.warehouse_id} and sku = ${promise.sku} for update`.execute(
          trx,
        );
      if (Number(promise.counted) === 1)
        await trx
          .updateTable('stock_partitions')
          .set((eb) => ({ preordered: eb('preordered', '-', Number(promise.remaining)) }))
          .where('warehouse_id', '=', promise.warehouse_id)
          .where('sku', '=', promise.sku)
          .execute();
    } else {
      const requests = await trx
        .selectFrom('production_requests')
        .select(['id'])
        .where('promise_id', '=', promise.id)
        .where('status', '=', 'requested')
        .execute();
      for (const request of requests) {
        await trx
          .updateTable('production_requests')
          .set({ status: 'canceled', updated_at: nowMs })
          .where('id', '=', request.id)
          .execute();
        if (await hasEdge(trx, promise.warehouse_id))
          await appendDownstream(
            trx,
            warehouseChannel(promise.warehouse_id),
            'production.canceled',
            { productionId: request.id },
            nowMs,
          );
      }
    }
    await trx
      .updateTable('supply_promises')
      .set({ status: 'released', counted: 0 })
      .where('id', '=', promise.id)
      .execute();
  }
  return promises.length;
}

export type OrderSupplyView = {
  promises: Array<PromiseView & { remaining: number; status: 'held' | 'waiting' | 'supplied' }>;
  expectedShipAt?: string;
};

/** What an order waits for: its promises and, while any is open, when it is expected to ship. */
export async function orderSupply(db: Kysely<Database>, holdId: string): Promise<OrderSupplyView | undefined> {
  const promises = (await holdPromises(db, holdId)).filter((promise) => promise.status !== 'released');
  if (promises.length === 0) return undefined;
  const view: OrderSupplyView = {
    promises: promises.map(({ id: _id, ...promise }) => ({
      ...promise,
      status: promise.status as 'held' | 'waiting' | 'supplied',
    })),
  };
  const open = promises.filter((promise) => promise.status === 'held' || promise.status === 'waiting');
  if (open.length > 0)
    view.expectedShipAt = new Date(Math.max(...open.map((promise) => Date.parse(promise.expectedAt)))).toISOString();
  return view;
}
