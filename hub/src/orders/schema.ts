import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** An order (DESIGN §6). Customer and addresses are JSON; money is integer minor units. */
export interface OrdersTable {
  id: string;
  number: string;
  client_id: string;
  /** The stored status; `pending_payment` past `expires_at` reads as `expired` (the hold's clock). */
  status: string;
  hold_id: string;
  customer_json: string;
  shipping_json: string;
  billing_json: string | null;
  note: string | null;
  payment_reference: string | null;
  currency: string;
  total: number;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export interface OrderLinesTable {
  order_id: string;
  line_no: number;
  sku: string;
  quantity: number;
  unit_price: number;
}

/** One per warehouse of a paid order: what that warehouse's edge picks, packs and ships. */
export interface FulfillmentsTable {
  id: string;
  order_id: string;
  warehouse_id: string;
  /** requested | packed | shipped | canceled: the warehouse's progress, as its facts report it */
  status: string;
  created_at: number;
  /** null | requested | accepted | refused: where a cancel request to the warehouse stands */
  cancel_state: string | null;
  /** The parcels as packed (JSON), once the warehouse packed. */
  packages_json: string | null;
}

/** The status history: every transition with the event that caused it. */
export interface OrderEventsTable {
  order_id: string;
  seq: number;
  event: string;
  from_status: string | null;
  to_status: string;
  note: string | null;
  at: number;
}

export interface OrderSequenceTable {
  id: number;
  last: number;
}

/** `allocations` is described with its current shape (0008) in shortage-schema.ts. */
export interface OrderTables {
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  fulfillments: FulfillmentsTable;
  order_events: OrderEventsTable;
  order_sequence: OrderSequenceTable;
}

export const ordersMigration: Migration = {
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
