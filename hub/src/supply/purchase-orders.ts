import {
  badRequest,
  conflict,
  emptyPartition,
  newId,
  notFound,
  type PurchaseOrderCreate,
  type PurchaseOrderStatus,
  type WarehouseCreate,
  warehouseChannel,
  warehouseHasEdge,
} from '@dovetail/shared';
import { type Kysely, type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { unknownSku } from '../holds/plan.ts';

type Dialect = 'sqlite' | 'postgres';

export type PurchaseOrderView = {
  id: string;
  warehouseId: string;
  supplier: string | null;
  status: PurchaseOrderStatus;
  expectedAt: string;
  lines: Array<{ sku: string; quantity: number; received: number }>;
  createdAt: string;
  updatedAt: string;
};

async function lockPartitionRow(trx: Transaction<Database>, dialect: Dialect, warehouseId: string, sku: string) {
  if (dialect === 'postgres')
    await sql`select 1 from stock_partitions where warehouse_id = ${warehouseId} and sku = ${sku} for update`.execute(
      trx,
    );
}

/**
 * The partition's row, created empty when nothing was ever recorded there (the edge's first receipt
 * fills it): an edge-owned partition starts from the empty fold, as the replica of one would.
 */
async function ensurePartition(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  nowMs: number,
  edgeOwned: boolean,
) {
  await trx
    .insertInto('stock_partitions')
    .values({
      warehouse_id: warehouseId,
      sku,
      on_hand: 0,
      damaged: 0,
      quality_control: 0,
      picked: 0,
      edge_quota: 0,
      committed: 0,
      reserved: 0,
      safety_stock: 0,
      incoming: 0,
      updated_at: nowMs,
      state_json: edgeOwned ? JSON.stringify(emptyPartition()) : null,
    })
    .onConflict((oc) => oc.columns(['warehouse_id', 'sku']).doNothing())
    .execute();
}

async function hasEdge(trx: Transaction<Database>, warehouseId: string): Promise<boolean> {
  const warehouse = await trx.selectFrom('warehouses').select('kind').where('id', '=', warehouseId).executeTakeFirst();
  return warehouse !== undefined && warehouseHasEdge(warehouse.kind as WarehouseCreate['kind']);
}

/**
 * `POST /purchase-orders` (docs/catalog.md, "Pre-orders and made-to-order"): goods expected at one
 * warehouse. Each line raises the partition's hub-owned `incoming` under its lock, in the transaction
 * that records the order and sends it to the warehouse's edge (`purchase_order.opened`), where staff
 * receive against it.
 */
export async function createPurchaseOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  input: PurchaseOrderCreate,
  nowMs: number,
): Promise<PurchaseOrderView> {
  const id = newId();
  const expectedAt = Date.parse(input.expectedAt);
  await db.transaction().execute(async (trx) => {
    const warehouse = await trx
      .selectFrom('warehouses')
      .select('id')
      .where('id', '=', input.warehouseId)
      .executeTakeFirst();
    if (!warehouse) throw notFound('warehouse', { warehouseId: input.warehouseId });
    const known = new Set(
      (
        await trx
          .selectFrom('variants')
          .select('sku')
          .where(
            'sku',
            'in',
            input.lines.map((line) => line.sku),
          )
          .execute()
      ).map((row) => row.sku),
    );
    for (const line of input.lines) if (!known.has(line.sku)) throw unknownSku(line.sku);
    await trx
      .insertInto('purchase_orders')
      .values({
        id,
        warehouse_id: input.warehouseId,
        supplier: input.supplier ?? null,
        status: 'open',
        expected_at: expectedAt,
        created_at: nowMs,
        updated_at: nowMs,
      })
      .execute();
    await trx
      .insertInto('purchase_order_lines')
      .values(
        input.lines.map((line, lineNo) => ({
          purchase_order_id: id,
          line_no: lineNo,
          warehouse_id: input.warehouseId,
          sku: line.sku,
          quantity: line.quantity,
          received: 0,
          open: 1,
          expected_at: expectedAt,
        })),
      )
      .execute();
    const edgeOwned = await hasEdge(trx, input.warehouseId);
    for (const line of [...input.lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))) {
      await ensurePartition(trx, input.warehouseId, line.sku, nowMs, edgeOwned);
      await lockPartitionRow(trx, dialect, input.warehouseId, line.sku);
      await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ incoming: eb('incoming', '+', line.quantity), updated_at: nowMs }))
        .where('warehouse_id', '=', input.warehouseId)
        .where('sku', '=', line.sku)
        .execute();
    }
    if (edgeOwned)
      await appendDownstream(
        trx,
        warehouseChannel(input.warehouseId),
        'purchase_order.opened',
        { purchaseOrderId: id, supplier: input.supplier ?? null, expectedAt, lines: input.lines },
        nowMs,
      );
  });
  return getPurchaseOrder(db, id);
}

export async function getPurchaseOrder(db: Kysely<Database>, id: string): Promise<PurchaseOrderView> {
  const order = await db.selectFrom('purchase_orders').selectAll().where('id', '=', id).executeTakeFirst();
  if (!order) throw notFound('purchase order');
  const [view] = await withLines(db, [order]);
  return view as PurchaseOrderView;
}

async function withLines(
  db: Kysely<Database>,
  orders: Array<{
    id: string;
    warehouse_id: string;
    supplier: string | null;
    status: string;
    expected_at: number;
    created_at: number;
    updated_at: number;
  }>,
): Promise<PurchaseOrderView[]> {
  if (orders.length === 0) return [];
  const lines = await db
    .selectFrom('purchase_order_lines')
    .selectAll()
    .where(
      'purchase_order_id',
      'in',
      orders.map((order) => order.id),
    )
    .orderBy('purchase_order_id')
    .orderBy('line_no')
    .execute();
  return orders.map((order) => ({
    id: order.id,
    warehouseId: order.warehouse_id,
    supplier: order.supplier,
    status: order.status as PurchaseOrderStatus,
    expectedAt: new Date(Number(order.expected_at)).toISOString(),
    lines: lines
      .filter((line) => line.purchase_order_id === order.id)
      .map((line) => ({ sku: line.sku, quantity: Number(line.quantity), received: Number(line.received) })),
    createdAt: new Date(Number(order.created_at)).toISOString(),
    updatedAt: new Date(Number(order.updated_at)).toISOString(),
  }));
}

/**
 * Purchase orders and production requests are listed newest first, paged by a `created_at|id`
 * cursor: the rows after the cursor's, or undefined for the first page.
 */
function olderThanCursor(cursor: string | undefined): RawBuilder<SqlBool> | undefined {
  const key = decodeCursor(cursor);
  if (cursor === undefined) return undefined;
  const [atText, lastId] = (key ?? '').split('|');
  const at = Number(atText);
  if (!Number.isSafeInteger(at) || !lastId)
    throw badRequest('invalid_input', 'invalid cursor', {
      issues: [{ path: 'cursor', message: 'not a cursor', code: 'invalid_string' }],
    });
  return sql<SqlBool>`(created_at < ${at} or (created_at = ${at} and id < ${lastId}))`;
}

const cursorAfter = (row: { created_at: number; id: string }) => encodeCursor(`${Number(row.created_at)}|${row.id}`);

export async function listPurchaseOrders(
  db: Kysely<Database>,
  filter: { status?: PurchaseOrderStatus; warehouseId?: string; cursor?: string; limit: number },
): Promise<{ items: PurchaseOrderView[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('purchase_orders')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.warehouseId) query = query.where('warehouse_id', '=', filter.warehouseId);
  const older = olderThanCursor(filter.cursor);
  if (older) query = query.where(older);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: await withLines(db, page),
    nextCursor: rows.length > filter.limit && last ? cursorAfter(last) : null,
  };
}

/**
 * `POST /purchase-orders/{id}/cancel`: what was not received leaves `incoming`, and the warehouse is
 * told. Refused (409 `preorders_depend_on_it`) while pre-orders need those units: the hub never
 * promises more than on hand + incoming. Canceling twice answers the same.
 */
export async function cancelPurchaseOrder(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  nowMs: number,
): Promise<PurchaseOrderView> {
  await db.transaction().execute(async (trx) => {
    let query = trx.selectFrom('purchase_orders').selectAll().where('id', '=', id);
    if (dialect === 'postgres') query = query.forUpdate();
    const order = await query.executeTakeFirst();
    if (!order) throw notFound('purchase order');
    if (order.status === 'canceled') return;
    if (order.status !== 'open')
      throw conflict('purchase_order_received', 'every line of this purchase order was received', { id });
    const lines = await trx
      .selectFrom('purchase_order_lines')
      .selectAll()
      .where('purchase_order_id', '=', id)
      .where('open', '=', 1)
      .orderBy('sku')
      .execute();
    for (const line of lines) {
      const left = Number(line.quantity) - Number(line.received);
      await lockPartitionRow(trx, dialect, line.warehouse_id, line.sku);
      const lowered = await trx
        .updateTable('stock_partitions')
        .set((eb) => ({ incoming: eb('incoming', '-', left), updated_at: nowMs }))
        .where('warehouse_id', '=', line.warehouse_id)
        .where('sku', '=', line.sku)
        .where((eb) => eb('preordered', '<=', eb('incoming', '-', left)))
        .executeTakeFirst();
      if (Number(lowered.numUpdatedRows) !== 1)
        throw conflict(
          'preorders_depend_on_it',
          `pre-orders of ${line.sku} are promised against this purchase order; cancel them or open another purchase order first`,
          { id, sku: line.sku },
        );
      await trx
        .updateTable('purchase_order_lines')
        .set({ open: 0 })
        .where('purchase_order_id', '=', id)
        .where('line_no', '=', line.line_no)
        .execute();
    }
    await trx
      .updateTable('purchase_orders')
      .set({ status: 'canceled', updated_at: nowMs })
      .where('id', '=', id)
      .execute();
    if (await hasEdge(trx, order.warehouse_id))
      await appendDownstream(
        trx,
        warehouseChannel(order.warehouse_id),
        'purchase_order.canceled',
        { purchaseOrderId: id },
        nowMs,
      );
  });
  return getPurchaseOrder(db, id);
}

export type ProductionView = {
  id: string;
  orderId: string;
  warehouseId: string;
  sku: string;
  quantity: number;
  received: number;
  status: 'requested' | 'completed' | 'canceled';
  configuration?: unknown;
  leadTimeDays: number;
  dueAt: string;
  createdAt: string;
  updatedAt: string;
};

/** `GET /production?status=`: production requests of made-to-order lines, newest first. */
export async function listProduction(
  db: Kysely<Database>,
  filter: { status?: ProductionView['status']; warehouseId?: string; cursor?: string; limit: number },
): Promise<{ items: ProductionView[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('production_requests')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.warehouseId) query = query.where('warehouse_id', '=', filter.warehouseId);
  const older = olderThanCursor(filter.cursor);
  if (older) query = query.where(older);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      id: row.id,
      orderId: row.order_id,
      warehouseId: row.warehouse_id,
      sku: row.sku,
      quantity: Number(row.quantity),
      received: Number(row.received),
      status: row.status as ProductionView['status'],
      ...(row.configuration_json ? { configuration: JSON.parse(row.configuration_json) as unknown } : {}),
      leadTimeDays: Number(row.lead_time_days),
      dueAt: new Date(Number(row.due_at)).toISOString(),
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    })),
    nextCursor: rows.length > filter.limit && last ? cursorAfter(last) : null,
  };
}
