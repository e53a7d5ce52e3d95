import { type WarehouseCreate, warehouseHasEdge } from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import type { Database, WarehousesTable } from '../db/schema.ts';
import { ApiError, conflict, notFound } from '../http/errors.ts';
import { hashClientSecret, newClientSecret } from '../auth/secrets.ts';
import { appendDownstream } from './downstream.ts';
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
      created_at: nowMs,
    };
    await trx.insertInto('warehouses').values(row).execute();
    const warehouse = toWarehouse(row);
    // The edge replicates its own warehouse's configuration from its channel (DESIGN §3, §5).
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
    throw new ApiError(422, 'unknown_warehouse', `unknown warehouses: ${missing.join(', ')}`, { warehouses: missing });
}

/** The downstream channel of one warehouse: config, roster, and later fulfillment orders. */
export function warehouseChannel(warehouseId: string): string {
  return `warehouse:${warehouseId}`;
}

export type EdgeEnrollment = { clientId: string; clientSecret: string; warehouseId: string; epoch: number };

export function edgeClientId(warehouseId: string): string {
  return `edge-${warehouseId}`;
}

/**
 * Mints the machine credentials of a warehouse's edge. Re-enrolling (a replacement device) bumps
 * the epoch and replaces the secret in one transaction, so the old edge is fenced off at once.
 */
export async function enrollEdge(db: Kysely<Database>, warehouseId: string, nowMs: number): Promise<EdgeEnrollment> {
  const clientSecret = newClientSecret();
  const secretHash = hashClientSecret(clientSecret);
  const clientId = edgeClientId(warehouseId);
  const epoch = await db.transaction().execute(async (trx) => {
    const warehouse = await trx.selectFrom('warehouses').selectAll().where('id', '=', warehouseId).executeTakeFirst();
    if (!warehouse) throw notFound('warehouse');
    if (!warehouseHasEdge(warehouse.kind as WarehouseCreate['kind'])) {
      throw conflict('no_edge_for_kind', `a ${warehouse.kind} warehouse has no edge; write its stock through the API`);
    }
    const updated = await trx
      .updateTable('warehouses')
      .set((eb) => ({ edge_epoch: eb('edge_epoch', '+', 1) }))
      .where('id', '=', warehouseId)
      .returning('edge_epoch')
      .executeTakeFirstOrThrow();
    const nextEpoch = Number(updated.edge_epoch);
    await trx
      .insertInto('api_clients')
      .values({
        id: clientId,
        name: `edge of ${warehouseId}`,
        role: 'edge',
        warehouses_json: JSON.stringify([warehouseId]),
        secret_hash: secretHash,
        epoch: nextEpoch,
        revoked_at: null,
        created_at: nowMs,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ secret_hash: secretHash, epoch: nextEpoch, revoked_at: null }))
      .execute();
    return nextEpoch;
  });
  return { clientId, clientSecret, warehouseId, epoch };
}
