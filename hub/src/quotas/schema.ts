import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** The in-store quota policy of one warehouse (issue 5): targets of selling rights per SKU. */
export interface QuotaPoliciesTable {
  warehouse_id: string;
  policy_json: string;
  updated_at: number;
  updated_by: string;
}

/**
 * Every move of selling rights the hub asked for: a grant (rights already counted in the partition's
 * `edge_quota` when the row is written) or a return request (rights counted out only when the edge's
 * `quota_return` event arrives). `open` until answered; unanswered return requests stop counting
 * after `limits.quotaReturnRequestTtlMs`.
 */
export interface QuotaMovesTable {
  id: string;
  warehouse_id: string;
  sku: string;
  kind: string;
  quantity: number;
  /** open | answered */
  status: string;
  answered_quantity: number | null;
  actor: string;
  created_at: number;
  answered_at: number | null;
}

export interface QuotaTables {
  quota_policies: QuotaPoliciesTable;
  quota_moves: QuotaMovesTable;
}

export const quotasMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('quota_policies')
      .addColumn('warehouse_id', 'text', (c) => c.primaryKey().references('warehouses.id'))
      .addColumn('policy_json', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('quota_moves')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('answered_quantity', 'bigint')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('quota_moves_open')
      .on('quota_moves')
      .columns(['warehouse_id', 'sku', 'status', 'kind'])
      .execute();
  },
};
