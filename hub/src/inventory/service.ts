import { DomainError, badRequest, conflict, notFound } from '@dovetail/shared';
import {
  type StockQuantities,
  emptyPartition,
  limits,
  stockQuantities,
  warehouseHasEdge,
  type WarehouseCreate,
} from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import { expiredHeldSql } from '../db/available.ts';
import type { Database } from '../database.ts';
import type { StockPartitionsTable } from './tables.ts';
import { skuExists } from '../catalog/service.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { noteLowStock, partitionFigureColumns } from './low-stock.ts';

export type PartitionView = StockQuantities & { warehouseId: string };
/**
 * `cataloged: false`: stock an edge recorded of a SKU the catalog does not list (docs/architecture.md,
 * "Uncataloged stock"); it is counted, never sold, until a product lists the SKU.
 */
export type SkuInventory = StockQuantities & { sku: string; cataloged: boolean; warehouses: PartitionView[] };

const quantityKeys = [
  'onHand',
  'committed',
  'reserved',
  'damaged',
  'qualityControl',
  'safetyStock',
  'incoming',
  'edgeQuota',
  'picked',
  'available',
] as const satisfies ReadonlyArray<keyof StockQuantities>;

/** The quantities of one replica row, computed by the shared stock arithmetic. */
/**
 * Units of counted hold lines already past their expiry: a hold stops counting at `expires_at`
 * exactly, for every reader, whether or not the sweeper has settled it yet (docs/architecture.md, "Quantities").
 */
const expiredReserved = (nowMs: number) => expiredHeldSql('stock_partitions', nowMs);

type PartitionRow = Selectable<StockPartitionsTable> & { expired_reserved?: number | string | null };

function partitionView(row: PartitionRow): PartitionView {
  const state = {
    ...emptyPartition(),
    onHand: Number(row.on_hand),
    damaged: Number(row.damaged),
    qualityControl: Number(row.quality_control),
    picked: Number(row.picked),
    edgeQuota: Number(row.edge_quota),
  };
  const quantities = stockQuantities(state, {
    committed: Number(row.committed),
    reserved: Number(row.reserved) - Number(row.expired_reserved ?? 0),
    safetyStock: Number(row.safety_stock),
    incoming: Number(row.incoming),
  });
  return { warehouseId: row.warehouse_id, ...quantities };
}

function zeroQuantities(): StockQuantities {
  return stockQuantities(emptyPartition());
}

function sumPartitions(sku: string, cataloged: boolean, partitions: PartitionView[]): SkuInventory {
  const total = zeroQuantities();
  for (const partition of partitions) for (const key of quantityKeys) total[key] += partition[key];
  return { sku, cataloged, ...total, warehouses: partitions };
}

/** Which of `skus` the catalog lists: one statement for a page. */
async function catalogedOf(db: Kysely<Database>, skus: string[]): Promise<Set<string>> {
  if (skus.length === 0) return new Set();
  const rows = await db.selectFrom('variants').select('sku').where('sku', 'in', skus).execute();
  return new Set(rows.map((row) => row.sku));
}

async function partitionsFor(
  db: Kysely<Database>,
  skus: string[],
  scope: readonly string[] | '*',
  nowMs: number,
): Promise<Map<string, PartitionView[]>> {
  const bySku = new Map<string, PartitionView[]>();
  if (skus.length === 0) return bySku;
  let query = db
    .selectFrom('stock_partitions')
    .selectAll()
    .select(expiredReserved(nowMs).as('expired_reserved'))
    .where('sku', 'in', skus);
  if (scope !== '*') query = query.where('warehouse_id', 'in', scope.length > 0 ? [...scope] : ['']);
  const rows = await query.orderBy('sku').orderBy('warehouse_id').execute();
  for (const row of rows) {
    const list = bySku.get(row.sku) ?? [];
    if (list.length < limits.inventoryWarehousesPerSkuMax) list.push(partitionView(row));
    bySku.set(row.sku, list);
  }
  return bySku;
}

/**
 * One SKU across the warehouses the caller may see. A SKU the catalog knows but no warehouse
 * stocks answers zeros with no warehouses; a SKU neither the catalog nor any replica knows is 404.
 */
export async function skuInventory(
  db: Kysely<Database>,
  sku: string,
  scope: readonly string[] | '*',
  nowMs: number,
): Promise<SkuInventory> {
  const partitions = (await partitionsFor(db, [sku], scope, nowMs)).get(sku) ?? [];
  const cataloged = await skuExists(db, sku);
  if (partitions.length === 0 && !cataloged) {
    const anywhere = await db.selectFrom('stock_partitions').select('sku').where('sku', '=', sku).executeTakeFirst();
    if (!anywhere) throw notFound('SKU');
  }
  return sumPartitions(sku, cataloged, partitions);
}

export type InventoryFilters = { warehouseId?: string; skuPrefix?: string; cursor?: string; limit: number };

function invalidCursor(): DomainError {
  return badRequest('invalid_input', 'invalid cursor', {
    issues: [{ path: 'cursor', message: 'not a cursor', code: 'invalid_string' }],
  });
}

/** Stock per SKU across warehouses, paged by SKU. */
export async function listInventory(
  db: Kysely<Database>,
  filters: InventoryFilters,
  scope: readonly string[] | '*',
  nowMs: number,
): Promise<{ items: SkuInventory[]; nextCursor: string | null }> {
  const after = decodeCursor(filters.cursor);
  if (filters.cursor !== undefined && after === undefined) throw invalidCursor();
  let query = db.selectFrom('stock_partitions').select('sku').distinct();
  if (scope !== '*') query = query.where('warehouse_id', 'in', scope.length > 0 ? [...scope] : ['']);
  if (filters.warehouseId) query = query.where('warehouse_id', '=', filters.warehouseId);
  // substr, not LIKE (case-insensitive on SQLite) or a range (collation-dependent on PostgreSQL).
  if (filters.skuPrefix) {
    const prefix = filters.skuPrefix;
    query = query.where((eb) => eb(eb.fn('substr', ['sku', eb.val(1), eb.val(prefix.length)]), '=', prefix));
  }
  if (after) query = query.where('sku', '>', after);
  const rows = await query
    .orderBy('sku')
    .limit(filters.limit + 1)
    .execute();
  const page = rows.slice(0, filters.limit).map((row) => row.sku);
  const narrowed = filters.warehouseId
    ? scope === '*' || scope.includes(filters.warehouseId)
      ? [filters.warehouseId]
      : []
    : scope;
  const partitions = await partitionsFor(db, page, narrowed, nowMs);
  const cataloged = await catalogedOf(db, page);
  const last = page[page.length - 1];
  return {
    items: page.map((sku) => sumPartitions(sku, cataloged.has(sku), partitions.get(sku) ?? [])),
    nextCursor: rows.length > filters.limit && last ? encodeCursor(last) : null,
  };
}

/** One warehouse's partitions, paged by SKU. */
export async function warehouseInventory(
  db: Kysely<Database>,
  warehouseId: string,
  cursor: string | undefined,
  limit: number,
  nowMs: number,
): Promise<{ warehouseId: string; items: Array<StockQuantities & { sku: string }>; nextCursor: string | null }> {
  const warehouse = await db.selectFrom('warehouses').select('id').where('id', '=', warehouseId).executeTakeFirst();
  if (!warehouse) throw notFound('warehouse');
  const after = decodeCursor(cursor);
  if (cursor !== undefined && after === undefined) throw invalidCursor();
  let query = db
    .selectFrom('stock_partitions')
    .selectAll()
    .select(expiredReserved(nowMs).as('expired_reserved'))
    .where('warehouse_id', '=', warehouseId);
  if (after) query = query.where('sku', '>', after);
  const rows = await query
    .orderBy('sku')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    warehouseId,
    items: page.map((row) => {
      const { warehouseId: _warehouseId, ...quantities } = partitionView(row);
      return { sku: row.sku, ...quantities };
    }),
    nextCursor: rows.length > limit && last ? encodeCursor(last.sku) : null,
  };
}

export type ThirdPartyStock = {
  onHand: number;
  damaged?: number;
  qualityControl?: number;
  safetyStock?: number;
  incoming?: number;
};

async function assertApiOwnedWarehouse(db: Kysely<Database>, warehouseId: string): Promise<void> {
  const warehouse = await db
    .selectFrom('warehouses')
    .select(['id', 'kind'])
    .where('id', '=', warehouseId)
    .executeTakeFirst();
  if (!warehouse) throw notFound('warehouse');
  if (warehouseHasEdge(warehouse.kind as WarehouseCreate['kind'])) {
    throw conflict('owner_is_edge', `stock of ${warehouseId} is owned by its edge; send the edge a request instead`);
  }
}

/**
 * Writes the stock of a warehouse with no edge (3PL, dropshipper): the API is its owner (docs/architecture.md, "Ownership").
 * `create` refuses an existing partition (409), `replace` creates or overwrites it.
 */
export async function writeThirdPartyStock(
  db: Kysely<Database>,
  warehouseId: string,
  sku: string,
  stock: ThirdPartyStock,
  mode: 'create' | 'replace',
  nowMs: number,
): Promise<PartitionView & { sku: string }> {
  await assertApiOwnedWarehouse(db, warehouseId);
  if (!(await skuExists(db, sku)))
    throw new DomainError('unprocessable', 'unknown_sku', `SKU ${sku} is not in the catalog`);
  const damaged = stock.damaged ?? 0;
  const qualityControl = stock.qualityControl ?? 0;
  if (damaged + qualityControl > stock.onHand) {
    throw new DomainError('unprocessable', 'exceeds_on_hand', 'damaged + qualityControl must not exceed onHand');
  }
  const values = {
    on_hand: stock.onHand,
    damaged,
    quality_control: qualityControl,
    safety_stock: stock.safetyStock ?? 0,
    incoming: stock.incoming ?? 0,
    updated_at: nowMs,
  };
  const write = () =>
    db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('stock_partitions')
        .select(partitionFigureColumns)
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', sku)
        .executeTakeFirst();
      if (existing && mode === 'create')
        throw conflict('partition_exists', `stock of ${sku} at ${warehouseId} exists; PUT replaces it`);
      if (existing) {
        await trx
          .updateTable('stock_partitions')
          .set(values)
          .where('warehouse_id', '=', warehouseId)
          .where('sku', '=', sku)
          .execute();
      } else {
        await trx
          .insertInto('stock_partitions')
          .values({ warehouse_id: warehouseId, sku, picked: 0, edge_quota: 0, committed: 0, reserved: 0, ...values })
          .execute();
      }
      // inventory.low when this write took available below the safety stock (the other columns are the hub's, unchanged).
      const after = { committed: 0, reserved: 0, edge_quota: 0, ...existing, ...values };
      await noteLowStock(trx, warehouseId, sku, existing, after, nowMs);
    });
  try {
    await write();
  } catch (error) {
    // Two writers both found no row and both inserted: the loser of a create is told so, the
    // loser of a replace simply runs again and now updates the row.
    if (!isUniqueViolation(error)) throw error;
    if (mode === 'create')
      throw conflict('partition_exists', `stock of ${sku} at ${warehouseId} was created concurrently; PUT replaces it`);
    await write();
  }
  const row = await db
    .selectFrom('stock_partitions')
    .selectAll()
    .select(expiredReserved(nowMs).as('expired_reserved'))
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow();
  return { sku, ...partitionView(row) };
}

export async function deleteThirdPartyStock(db: Kysely<Database>, warehouseId: string, sku: string): Promise<void> {
  await assertApiOwnedWarehouse(db, warehouseId);
  const row = await db
    .selectFrom('stock_partitions')
    .select(['committed', 'reserved'])
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .executeTakeFirst();
  if (!row) throw notFound('stock partition');
  if (Number(row.committed) > 0 || Number(row.reserved) > 0) {
    throw conflict('partition_in_use', 'stock with open allocations or holds cannot be removed');
  }
  await db.deleteFrom('stock_partitions').where('warehouse_id', '=', warehouseId).where('sku', '=', sku).execute();
}
