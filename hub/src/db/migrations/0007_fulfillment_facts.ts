// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('edge_facts')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('edge_id', 'text', (c) => c.notNull())
      .addColumn('edge_seq', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('fulfillment_id', 'text', (c) => c.notNull())
      .addColumn('event_json', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('edge_facts_fulfillment').on('edge_facts').column('fulfillment_id').execute();
    await db.schema
      .createTable('shipments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('fulfillment_id', 'text', (c) => c.notNull().references('fulfillments.id'))
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('carrier', 'text', (c) => c.notNull())
      .addColumn('tracking_number', 'text', (c) => c.notNull())
      .addColumn('packages_json', 'text', (c) => c.notNull())
      .addColumn('lines_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('shipped_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('shipments_order').on('shipments').column('order_id').execute();
    // The fulfillment's own progress (requested → packed → shipped, or canceled) and, apart from it,
    // where a cancel request stands (requested → accepted | refused): a shipped order can be asked.
    await db.schema.alterTable('fulfillments').addColumn('cancel_state', 'text').execute();
    await db.schema.alterTable('fulfillments').addColumn('packages_json', 'text').execute();
    await sql`update fulfillments set cancel_state = 'requested', status = 'requested' where status = 'cancel_requested'`.execute(
      db,
    );
  },
};
