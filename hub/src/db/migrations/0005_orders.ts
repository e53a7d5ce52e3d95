// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'text', (c) => c.notNull().unique())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('hold_id', 'text', (c) => c.notNull().unique().references('holds.id'))
      .addColumn('customer_json', 'text', (c) => c.notNull())
      .addColumn('shipping_json', 'text', (c) => c.notNull())
      .addColumn('billing_json', 'text')
      .addColumn('note', 'text')
      .addColumn('payment_reference', 'text')
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('total', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('orders_client').on('orders').columns(['client_id', 'created_at']).execute();
    await db.schema
      .createTable('order_lines')
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('unit_price', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_lines_pk', ['order_id', 'line_no'])
      .execute();
    await db.schema
      .createTable('fulfillments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('fulfillments_order').on('fulfillments').column('order_id').execute();
    await db.schema
      .createTable('allocations')
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('fulfillment_id', 'text', (c) => c.notNull().references('fulfillments.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('allocations_pk', ['order_id', 'warehouse_id', 'sku'])
      .execute();
    await db.schema
      .createTable('order_events')
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_events_pk', ['order_id', 'seq'])
      .execute();
    await db.schema
      .createTable('order_sequence')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('last', 'bigint', (c) => c.notNull())
      .execute();
    await db
      .insertInto('order_sequence' as never)
      .values({ id: 1, last: 0 } as never)
      .execute();
  },
};
