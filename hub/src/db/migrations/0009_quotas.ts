// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const migration: Migration = {
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
