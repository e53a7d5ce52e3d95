// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Configurable products (docs/catalog.md): a product's configurable options (JSON), an order line's
 * configuration and its price breakdown (JSON), and a hold line's configuration, kept per (hold, SKU)
 * until the hold becomes an order.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('products').addColumn('configurable_json', 'text').execute();
    await db.schema.alterTable('order_lines').addColumn('configuration_json', 'text').execute();
    await db.schema.alterTable('order_lines').addColumn('price_json', 'text').execute();
    await db.schema
      .createTable('hold_configurations')
      .addColumn('hold_id', 'text', (c) => c.notNull().references('holds.id'))
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('configuration_json', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('hold_configurations_pk', ['hold_id', 'sku'])
      .execute();
  },
};
