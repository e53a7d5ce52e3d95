// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Returns on their way back (the carrier and tracking number given with `in_transit`), and
 * exchanges: a return linked to a replacement order whose hold waits for it, found by the hub's
 * expiry pass by (status, due_at) and by return and replacement order.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('returns').addColumn('carrier', 'text').execute();
    await db.schema.alterTable('returns').addColumn('tracking_number', 'text').execute();
    await db.schema
      .createTable('exchanges')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('return_id', 'text', (c) => c.notNull().unique().references('returns.id'))
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('replacement_order_id', 'text', (c) => c.notNull().unique().references('orders.id'))
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('hold_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('advance', 'integer', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('exchanges_due').on('exchanges').columns(['status', 'due_at']).execute();
    await db.schema.createIndex('exchanges_order').on('exchanges').columns(['order_id']).execute();
  },
};
