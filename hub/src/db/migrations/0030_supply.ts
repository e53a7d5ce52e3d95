// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Supply (docs/catalog.md, "Pre-orders and made-to-order"):
 * - `variants`: how the SKU is supplied (`fulfillment` stock | made_to_order, `lead_time_days`,
 *   `production_warehouse_id`) and its `preorder_cap` (0: no pre-orders);
 * - `stock_partitions.preordered`: units promised against the partition's `incoming` (held and paid
 *   pre-orders), hub-owned like `committed`;
 * - `purchase_orders` and their lines (what `incoming` counts until received);
 * - `supply_promises`: hold and order lines promised against incoming or production;
 * - `production_requests`: what a paid made-to-order line asks of its producing warehouse.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('variants')
      .addColumn('fulfillment', 'text', (c) => c.notNull().defaultTo('stock'))
      .execute();
    await db.schema.alterTable('variants').addColumn('lead_time_days', 'integer').execute();
    await db.schema.alterTable('variants').addColumn('production_warehouse_id', 'text').execute();
    await db.schema
      .alterTable('variants')
      .addColumn('preorder_cap', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('stock_partitions')
      .addColumn('preordered', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();

    await db.schema
      .createTable('purchase_orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('supplier', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('expected_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('purchase_orders_created')
      .on('purchase_orders')
      .columns(['created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('purchase_orders_status')
      .on('purchase_orders')
      .columns(['status', 'created_at', 'id'])
      .execute();
    await db.schema
      .createTable('purchase_order_lines')
      .addColumn('purchase_order_id', 'text', (c) => c.notNull().references('purchase_orders.id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('received', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('open', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('expected_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('purchase_order_lines_pk', ['purchase_order_id', 'line_no'])
      .execute();
    await db.schema
      .createIndex('purchase_order_lines_partition')
      .on('purchase_order_lines')
      .columns(['warehouse_id', 'sku', 'open', 'expected_at'])
      .execute();

    await db.schema
      .createTable('supply_promises')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hold_id', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('remaining', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('counted', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('expected_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('supply_promises_hold').on('supply_promises').columns(['hold_id']).execute();
    await db.schema.createIndex('supply_promises_order').on('supply_promises').columns(['order_id']).execute();
    await db.schema
      .createIndex('supply_promises_partition')
      .on('supply_promises')
      .columns(['warehouse_id', 'sku', 'status', 'created_at'])
      .execute();

    await db.schema
      .createTable('production_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('promise_id', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('received', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('configuration_json', 'text')
      .addColumn('lead_time_days', 'integer', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('production_requests_status')
      .on('production_requests')
      .columns(['status', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('production_requests_created')
      .on('production_requests')
      .columns(['created_at', 'id'])
      .execute();
  },
};
