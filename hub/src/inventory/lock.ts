import { type Transaction, sql } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Takes one `(warehouse, sku)` partition's row lock for the rest of the transaction (PostgreSQL;
 * SQLite has one writer, so its transaction is the lock). Every writer that moves a partition's
 * hub-owned quantities (payment, facts, shortage re-routing, quotas) takes it first.
 */
export async function lockPartition(
  trx: Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  warehouseId: string,
  sku: string,
): Promise<void> {
  if (dialect === 'postgres')
    await sql`select 1 from stock_partitions where warehouse_id = ${warehouseId} and sku = ${sku} for update`.execute(
      trx,
    );
}
