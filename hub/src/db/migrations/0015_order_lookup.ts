// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Order lookup for customer service: the customer's e-mail as its own column (lower case, for an
 * indexed equality match; filled from customer_json for existing orders) and one index per list
 * filter, each ending in (created_at, id) so a filtered page is an index range read newest first.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('orders').addColumn('customer_email', 'text').execute();
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await (postgres
      ? sql`update orders set customer_email = lower(customer_json::json->>'email')`
      : sql`update orders set customer_email = lower(json_extract(customer_json, '$.email'))`
    ).execute(db);
    await db.schema.createIndex('orders_created').on('orders').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('orders_status_created').on('orders').columns(['status', 'created_at', 'id']).execute();
    await db.schema
      .createIndex('orders_client_created')
      .on('orders')
      .columns(['client_id', 'created_at', 'id'])
      .execute();
    await db.schema.dropIndex('orders_client').execute(); // a prefix of orders_client_created
    await db.schema
      .createIndex('orders_email_created')
      .on('orders')
      .columns(['customer_email', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('fulfillments_warehouse')
      .on('fulfillments')
      .columns(['warehouse_id', 'order_id'])
      .execute();
  },
};
