// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Carrier tracking: each carrier scan of a shipment, keyed by the carrier's event id; the shipment's
 * estimate, delivery time and last change; and the carrier a `carrier` API client speaks for.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('shipment_events')
      .addColumn('shipment_id', 'text', (c) => c.notNull().references('shipments.id'))
      .addColumn('carrier_event_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('occurred_at', 'bigint', (c) => c.notNull())
      .addColumn('location', 'text')
      .addColumn('estimated_delivery_at', 'bigint')
      .addColumn('description', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('shipment_events_pk', ['shipment_id', 'carrier_event_id'])
      .execute();
    await db.schema.alterTable('shipments').addColumn('estimated_delivery_at', 'bigint').execute();
    await db.schema.alterTable('shipments').addColumn('delivered_at', 'bigint').execute();
    await db.schema.alterTable('shipments').addColumn('updated_at', 'bigint').execute();
    await db.schema.createIndex('shipments_tracking').on('shipments').columns(['tracking_number']).execute();
    await db.schema.alterTable('api_clients').addColumn('carrier', 'text').execute();
  },
};
