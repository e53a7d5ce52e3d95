import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** One row per warehouse edge: where its upstream stream stands and what it has seen downstream. */
export interface EdgeStreamsTable {
  warehouse_id: string;
  /** The incarnation (database) currently speaking for the warehouse. */
  edge_id: string;
  epoch: number;
  /** Highest upstream seq durably applied or rejected for this incarnation. */
  applied_seq: number;
  /** The edge's own last seq as of its latest hello: `last_seq − applied_seq` is the lag in events. */
  last_seq: number;
  cursors_json: string;
  connected_at: number | null;
  last_seen_at: number | null;
  last_applied_at: number | null;
  /** Edge time of the newest applied event: now − this is the lag in seconds. */
  last_event_at: number | null;
}

/** Every edge event the hub applied: the replica's ledger, folded again by `verify`. */
export interface StockEventsTable {
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  event_id: string;
  sku: string;
  type: string;
  hlc: string;
  at_ms: number;
  event_json: string;
  applied_at: number;
}

/** Events the hub durably refused; the ack carries them to the edge, which shows them to staff. */
export interface SyncRejectionsTable {
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  event_id: string;
  sku: string;
  reason: string;
  message: string;
  event_json: string;
  created_at: number;
}

export interface SyncTables {
  edge_streams: EdgeStreamsTable;
  stock_events: StockEventsTable;
  sync_rejections: SyncRejectionsTable;
}

/** The sync protocol's tables, and the full fold state on each partition replica. */
export const syncMigration: Migration = {
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
