// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    // Allocations get a surrogate key. SQLite cannot change a primary key in place: rename, create,
    // copy, drop (the same on PostgreSQL, so both run one step). Old rows keep their old key as id.
    await db.schema.alterTable('allocations').renameTo('allocations_0005').execute();
    await db.schema
      .createTable('allocations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('fulfillment_id', 'text', (c) => c.notNull().references('fulfillments.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('paid_at', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into allocations (id, order_id, fulfillment_id, warehouse_id, sku, quantity, status, paid_at)
      select a.order_id || ':' || a.warehouse_id || ':' || a.sku, a.order_id, a.fulfillment_id, a.warehouse_id, a.sku, a.quantity, a.status, f.created_at
      from allocations_0005 a inner join fulfillments f on f.id = a.fulfillment_id`.execute(db);
    await db.schema.dropTable('allocations_0005').execute();
    await db.schema
      .createIndex('allocations_order')
      .on('allocations')
      .columns(['order_id', 'warehouse_id', 'sku'])
      .execute();
    await db.schema
      .createIndex('allocations_fulfillment')
      .on('allocations')
      .columns(['fulfillment_id', 'sku'])
      .execute();
    await db.schema
      .createIndex('allocations_partition')
      .on('allocations')
      .columns(['warehouse_id', 'sku', 'status'])
      .execute();

    await db.schema
      .createTable('release_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('fulfillment_id', 'text', (c) => c.notNull().references('fulfillments.id'))
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('released', 'bigint')
      .addColumn('shortage_event_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('release_requests_partition')
      .on('release_requests')
      .columns(['warehouse_id', 'sku', 'status'])
      .execute();
    await db.schema
      .createIndex('release_requests_fulfillment')
      .on('release_requests')
      .columns(['fulfillment_id', 'sku'])
      .execute();

    await db.schema
      .createTable('inventory_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('inventory_events_warehouse')
      .on('inventory_events')
      .columns(['warehouse_id', 'id'])
      .execute();
    await db.schema
      .createIndex('inventory_events_partition')
      .on('inventory_events')
      .columns(['warehouse_id', 'sku', 'type', 'id'])
      .execute();
  },
};
