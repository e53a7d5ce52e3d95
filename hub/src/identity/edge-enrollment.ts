import { type WarehouseCreate, conflict, notFound, warehouseHasEdge } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { hashClientSecret, newClientSecret } from './secrets.ts';

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
