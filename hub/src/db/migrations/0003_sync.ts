// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** The sync protocol's tables, and the full fold state on each partition replica. */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('edge_streams')
      .addColumn('warehouse_id', 'text', (c) => c.primaryKey().references('warehouses.id'))
      .addColumn('edge_id', 'text', (c) => c.notNull())
      .addColumn('epoch', 'integer', (c) => c.notNull())
      .addColumn('applied_seq', 'bigint', (c) => c.notNull())
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .addColumn('cursors_json', 'text', (c) => c.notNull())
      .addColumn('connected_at', 'bigint')
      .addColumn('last_seen_at', 'bigint')
      .addColumn('last_applied_at', 'bigint')
      .addColumn('last_event_at', 'bigint')
      .execute();
    await db.schema
      .createTable('stock_events')
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('edge_id', 'text', (c) => c.notNull())
      .addColumn('edge_seq', 'bigint', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull().unique())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('hlc', 'text', (c) => c.notNull())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addColumn('event_json', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('stock_events_pk', ['warehouse_id', 'edge_id', 'edge_seq'])
      .execute();
    await db.schema
      .createIndex('stock_events_partition')
      .on('stock_events')
      .columns(['warehouse_id', 'sku', 'applied_at'])
      .execute();
    await db.schema
      .createTable('sync_rejections')
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('edge_id', 'text', (c) => c.notNull())
      .addColumn('edge_seq', 'bigint', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('event_json', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sync_rejections_pk', ['warehouse_id', 'edge_id', 'edge_seq'])
      .execute();
    await db.schema.alterTable('stock_partitions').addColumn('state_json', 'text').execute();
  },
};
