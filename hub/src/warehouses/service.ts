import { DomainError, conflict, notFound } from '@dovetail/shared';
import { type WarehouseCreate, warehouseHasEdge } from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.ts';
import type { WarehousesTable } from './tables.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { mapUniqueViolation } from '../db/errors.ts';

export type WarehouseView = WarehouseCreate & { hasEdge: boolean; edgeEpoch: number; createdAt: number };

function toWarehouse(row: Selectable<WarehousesTable>): WarehouseView {
  const view: WarehouseView = {
    id: row.id,
    name: row.name,
    kind: row.kind as WarehouseCreate['kind'],
    location: { lat: Number(row.lat), lon: Number(row.lon) },
    hasEdge: warehouseHasEdge(row.kind as WarehouseCreate['kind']),
    edgeEpoch: Number(row.edge_epoch),
    createdAt: Number(row.created_at),
  };
  if (row.address !== null) view.address = row.address;
  if (row.capacity !== null) view.capacity = Number(row.capacity);
  if (row.contact !== null) view.contact = row.contact;
  return view;
}

export async function createWarehouse(
  db: Kysely<Database>,
  input: WarehouseCreate,
  nowMs: number,
): Promise<WarehouseView> {
  return mapUniqueViolation(
    () => createWarehouseOnce(db, input, nowMs),
    () => conflict('warehouse_exists', `warehouse ${input.id} already exists`),
  );
}

async function createWarehouseOnce(
  db: Kysely<Database>,
  input: WarehouseCreate,
  nowMs: number,
): Promise<WarehouseView> {
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('warehouses').select('id').where('id', '=', input.id).executeTakeFirst();
    if (existing) throw conflict('warehouse_exists', `warehouse ${input.id} already exists`);
    const row: Selectable<WarehousesTable> = {
      id: input.id,
      name: input.name,
      kind: input.kind,
      lat: input.location.lat,
      lon: input.location.lon,
      address: input.address ?? null,
      capacity: input.capacity ?? null,
      contact: input.contact ?? null,
      edge_epoch: 0,
      // Returns go to warehouses that accept them (PUT /warehouses/{id}/returns-policy changes it).
      accepts_returns: 1,
      created_at: nowMs,
    };
    await trx.insertInto('warehouses').values(row).execute();
    const warehouse = toWarehouse(row);
    // The edge replicates its own warehouse's configuration from its channel (docs/architecture.md, "Ownership" and "Sync protocol").
    await appendDownstream(trx, warehouseChannel(warehouse.id), 'warehouse.upserted', warehouse, nowMs);
    return warehouse;
  });
}

export async function getWarehouse(db: Kysely<Database>, id: string): Promise<WarehouseView> {
  const row = await db.selectFrom('warehouses').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('warehouse');
  return toWarehouse(row);
}

/** Every warehouse, or only those in `scope`; bounded by the page size the caller passes. */
export async function listWarehouses(
  db: Kysely<Database>,
  scope: readonly string[] | '*',
  limit: number,
): Promise<WarehouseView[]> {
  let query = db.selectFrom('warehouses').selectAll().orderBy('id').limit(limit);
  if (scope !== '*') {
    if (scope.length === 0) return [];
    query = query.where('id', 'in', [...scope]);
  }
  return (await query.execute()).map(toWarehouse);
}

export async function assertWarehousesExist(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const known = await db
    .selectFrom('warehouses')
    .select('id')
    .where('id', 'in', [...ids])
    .execute();
  const missing = ids.filter((id) => !known.some((row) => row.id === id));
  if (missing.length > 0)
    throw new DomainError('unprocessable', 'unknown_warehouse', `unknown warehouses: ${missing.join(', ')}`, {
      warehouses: missing,
    });
}

/** The downstream channel of one warehouse: config, roster, and later fulfillment orders. */
export function warehouseChannel(warehouseId: string): string {
  return `warehouse:${warehouseId}`;
}
