import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';

type Dialect = 'sqlite' | 'postgres';

/**
 * The counters of supply promises (docs/catalog.md, "Pre-orders and made-to-order"): a `preorder`
 * promise's `remaining` is inside its partition's `preordered` while `counted = 1`. Every function
 * here runs in the caller's transaction, after it locked the partitions it names (lock order:
 * warehouse, then SKU).
 */

async function lockRow(trx: Transaction<Database>, dialect: Dialect, warehouseId: string, sku: string) {
  if (dialect === 'postgres')
    await sql`select 1 from stock_partitions where warehouse_id = ${warehouseId} and sku = ${sku} for update`.execute(
      trx,
    );
}

/** Takes a counted promise out of `preordered` and marks it `status` (released, supplied). */
async function uncount(
  trx: Transaction<Database>,
  promise: { id: string; warehouse_id: string; sku: string; remaining: number },
  status: string,
): Promise<void> {
  const done = await trx
    .updateTable('supply_promises')
    .set({ counted: 0, status })
    .where('id', '=', promise.id)
    .where('counted', '=', 1)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) !== 1) return;
  await trx
    .updateTable('stock_partitions')
    .set((eb) => ({ preordered: eb('preordered', '-', Number(promise.remaining)) }))
    .where('warehouse_id', '=', promise.warehouse_id)
    .where('sku', '=', promise.sku)
    .execute();
}

/** Held pre-order promises of one partition past their hold's expiry leave `preordered` (the partition is locked). */
export async function settleExpiredPromises(
  trx: Transaction<Database>,
  warehouseId: string,
  sku: string,
  nowMs: number,
): Promise<void> {
  const expired = await trx
    .selectFrom('supply_promises')
    .select(['id', 'warehouse_id', 'sku', 'remaining'])
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', sku)
    .where('status', '=', 'held')
    .where('counted', '=', 1)
    .where('expires_at', '<=', nowMs)
    .execute();
  for (const promise of expired) await uncount(trx, promise, 'released');
}

/**
 * Gives back every promise of a hold (released, or its order canceled before payment): pre-orders
 * leave `preordered`, production promises are simply dropped (nothing was asked of anyone yet).
 */
export async function releaseHoldPromises(trx: Transaction<Database>, dialect: Dialect, holdId: string): Promise<void> {
  const promises = await trx
    .selectFrom('supply_promises')
    .select(['id', 'kind', 'warehouse_id', 'sku', 'remaining', 'counted'])
    .where('hold_id', '=', holdId)
    .where('status', '=', 'held')
    .orderBy('warehouse_id')
    .orderBy('sku')
    .execute();
  for (const promise of promises) {
    if (Number(promise.counted) === 1) {
      await lockRow(trx, dialect, promise.warehouse_id, promise.sku);
      await uncount(trx, promise, 'released');
    } else await trx.updateTable('supply_promises').set({ status: 'released' }).where('id', '=', promise.id).execute();
  }
}

/** Every expired held pre-order promise leaves its counter: the sweeper's pass, bounded per call. */
export async function sweepExpiredPromises(db: Kysely<Database>, dialect: Dialect, nowMs: number): Promise<number> {
  const partitions = await db
    .selectFrom('supply_promises')
    .select(['warehouse_id', 'sku'])
    .distinct()
    .where('status', '=', 'held')
    .where('counted', '=', 1)
    .where('expires_at', '<=', nowMs)
    .limit(100)
    .execute();
  for (const partition of partitions)
    await db.transaction().execute(async (trx) => {
      await lockRow(trx, dialect, partition.warehouse_id, partition.sku);
      await settleExpiredPromises(trx, partition.warehouse_id, partition.sku, nowMs);
    });
  return partitions.length;
}
