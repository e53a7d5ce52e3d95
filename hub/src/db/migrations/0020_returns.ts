// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Returns (RMA) and refunds: a return per request with its lines (what was asked back, at what unit
 * price, and what the warehouse accounted for), refunds recorded against an order (idempotent by the
 * payment system's reference), and which warehouses accept returns (edge warehouses do by default).
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('returns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'text', (c) => c.notNull().unique())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('decision_note', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('returns_order').on('returns').columns(['order_id', 'created_at']).execute();
    await db.schema.createIndex('returns_status').on('returns').columns(['status', 'created_at', 'id']).execute();
    await db.schema.createIndex('returns_created').on('returns').columns(['created_at', 'id']).execute();
    await db.schema
      .createTable('return_lines')
      .addColumn('return_id', 'text', (c) => c.notNull().references('returns.id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('unit_price', 'bigint', (c) => c.notNull())
      .addColumn('restocked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('damaged', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('missing', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('return_lines_pk', ['return_id', 'line_no'])
      .execute();
    await db.schema
      .createTable('refunds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('return_id', 'text')
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull())
      .addColumn('recorded_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('refunds_order_reference')
      .on('refunds')
      .columns(['order_id', 'reference'])
      .unique()
      .execute();
    await db.schema
      .alterTable('warehouses')
      .addColumn('accepts_returns', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
  },
};
