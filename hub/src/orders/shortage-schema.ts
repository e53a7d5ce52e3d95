import { type Generated, type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** What an allocation row's units are doing; see `AllocationsTable.status`. */
export const allocationStatuses = ['committed', 'shipped', 'released', 'rerouted', 'backordered'] as const;
export type AllocationStatus = (typeof allocationStatuses)[number];

/**
 * Units of an order line committed at one warehouse once paid (`committed` in DESIGN §4), one row
 * per (fulfillment order, SKU, state). Supersedes the 0005 shape: a shortage splits a row (some
 * units stay committed, some were re-routed elsewhere or wait as backordered), and a re-route may
 * open a second fulfillment order at a warehouse that already serves the order, so the old key
 * (order, warehouse, sku) could no longer tell the rows apart.
 */
export interface AllocationsTable {
  id: string;
  order_id: string;
  fulfillment_id: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  /**
   * committed | released (cancel accepted, or released while the order was being canceled) | shipped |
   * rerouted (released by the warehouse after a shortage and committed elsewhere: see the order's
   * history and the rows of the new fulfillment) | backordered (released after a shortage with no
   * warehouse able to take them). Only `committed` counts in the partition's `committed`.
   */
  status: string;
  /** When the order was paid for (re-routed units keep their order's time): "newest first" sorts by it. */
  paid_at: number;
  /**
   * Units of this row the warehouse has already sent away (its `ship` stock events applied) while
   * the row is still `committed`, waiting for the `fulfillment_shipped` fact (0011). They are out of
   * the partition's `committed` already: `committed` = Σ (quantity − shipping) over committed rows.
   */
  shipping: Generated<number>;
}

/**
 * The hub asking a warehouse's edge to release units of one fulfillment order (DESIGN §3: the edge
 * owns it once delivered; the hub only asks). `open` until the edge answers with
 * `fulfillment_released`; while open its units count as already on their way out of `committed`,
 * so the same shortage is never asked for twice.
 */
export interface ReleaseRequestsTable {
  id: string;
  fulfillment_id: string;
  order_id: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  /** open | answered */
  status: string;
  /** Units the edge released (≤ quantity), once answered. */
  released: number | null;
  /** The `inventory.shortage` event that asked. */
  shortage_event_id: string;
  created_at: number;
  answered_at: number | null;
}

/**
 * The hub's inventory events (`inventory.shortage`, …): self-contained records, listed at
 * `GET /inventory/events` and, later, delivered to partners as webhooks. `payload_json` carries
 * every figure a receiver needs; nothing in it needs a second lookup.
 */
export interface InventoryEventsTable {
  id: string;
  type: string;
  warehouse_id: string;
  sku: string;
  payload_json: string;
  created_at: number;
}

export interface ShortageTables {
  allocations: AllocationsTable;
  release_requests: ReleaseRequestsTable;
  inventory_events: InventoryEventsTable;
}

export const shortageMigration: Migration = {
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
