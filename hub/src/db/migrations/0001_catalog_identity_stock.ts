// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('products')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('material', 'text')
      .addColumn('description', 'text')
      .addColumn('base_price', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('dimensions_json', 'text')
      .addColumn('options_json', 'text')
      .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('products_category').on('products').columns(['category', 'id']).execute();
    await db.schema
      .createTable('variants')
      .addColumn('sku', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('gtin', 'text')
      .addColumn('options_json', 'text', (c) => c.notNull())
      .addColumn('price', 'bigint')
      .execute();
    await db.schema.createIndex('variants_product').on('variants').columns(['product_id', 'position']).execute();
    await db.schema
      .createTable('warehouses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('lat', 'double precision', (c) => c.notNull())
      .addColumn('lon', 'double precision', (c) => c.notNull())
      .addColumn('address', 'text')
      .addColumn('capacity', 'bigint')
      .addColumn('contact', 'text')
      .addColumn('edge_epoch', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('api_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('warehouses_json', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('epoch', 'integer', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('staff')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('warehouses_json', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('private_jwk', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retired_at', 'bigint')
      .execute();
    await db.schema
      .createTable('downstream_channels')
      .addColumn('channel', 'text', (c) => c.primaryKey())
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('downstream_log')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('downstream_log_pk', ['channel', 'seq'])
      .execute();
    await db.schema
      .createTable('stock_partitions')
      .addColumn('warehouse_id', 'text', (c) => c.notNull().references('warehouses.id'))
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('on_hand', 'bigint', (c) => c.notNull())
      .addColumn('damaged', 'bigint', (c) => c.notNull())
      .addColumn('quality_control', 'bigint', (c) => c.notNull())
      .addColumn('picked', 'bigint', (c) => c.notNull())
      .addColumn('edge_quota', 'bigint', (c) => c.notNull())
      .addColumn('committed', 'bigint', (c) => c.notNull())
      .addColumn('reserved', 'bigint', (c) => c.notNull())
      .addColumn('safety_stock', 'bigint', (c) => c.notNull())
      .addColumn('incoming', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('stock_partitions_pk', ['warehouse_id', 'sku'])
      .execute();
    await db.schema
      .createIndex('stock_partitions_sku')
      .on('stock_partitions')
      .columns(['sku', 'warehouse_id'])
      .execute();
  },
};
