import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import { holdsBatchMigration, holdsFastMigration, holdsManyMigration, holdsMigration } from '../holds/schema.ts';
import { allocationShippingMigration, fulfillmentFactsMigration } from '../orders/fulfillment-schema.ts';
import { ordersMigration } from '../orders/schema.ts';
import { shortageMigration } from '../orders/shortage-schema.ts';
import { quotasMigration } from '../quotas/schema.ts';
import { syncMigration } from '../sync/schema.ts';

/**
 * Versioned migrations, one list for both adapters. Written with Kysely's schema builder and
 * portable types only (text, bigint, integer, double precision), so the same step runs on SQLite
 * and PostgreSQL. Never edit a shipped step: append a new one.
 */
const steps: Record<string, Migration> = {
  '0001_catalog_identity_stock': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('products')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('material', 'text')
        .addColumn('description', 'text')
        .addColumn('base_price', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('dimensions_json', 'text')
        .addColumn('options_json', 'text')
        .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('products_category').on('products').columns(['category', 'id']).execute();
      await db.schema
        .createTable('variants')
        .addColumn('sku', 'text', (c) => c.primaryKey())
        .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('gtin', 'text')
        .addColumn('options_json', 'text', (c) => c.notNull())
        .addColumn('price', 'bigint')
        .execute();
      await db.schema.createIndex('variants_product').on('variants').columns(['product_id', 'position']).execute();
      await db.schema
        .createTable('warehouses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('lat', 'double precision', (c) => c.notNull())
        .addColumn('lon', 'double precision', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('capacity', 'bigint')
        .addColumn('contact', 'text')
        .addColumn('edge_epoch', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_clients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('warehouses_json', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('staff')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('warehouses_json', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
      await db.schema
        .createTable('downstream_channels')
        .addColumn('channel', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('downstream_log')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('downstream_log_pk', ['channel', 'seq'])
        .execute();
      await db.schema
        .createTable('stock_partitions')
        .addColumn('warehouse_id', 'text', (c) => c.notNull().references('warehouses.id'))
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('on_hand', 'bigint', (c) => c.notNull())
        .addColumn('damaged', 'bigint', (c) => c.notNull())
        .addColumn('quality_control', 'bigint', (c) => c.notNull())
        .addColumn('picked', 'bigint', (c) => c.notNull())
        .addColumn('edge_quota', 'bigint', (c) => c.notNull())
        .addColumn('committed', 'bigint', (c) => c.notNull())
        .addColumn('reserved', 'bigint', (c) => c.notNull())
        .addColumn('safety_stock', 'bigint', (c) => c.notNull())
        .addColumn('incoming', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('stock_partitions_pk', ['warehouse_id', 'sku'])
        .execute();
      await db.schema
        .createIndex('stock_partitions_sku')
        .on('stock_partitions')
        .columns(['sku', 'warehouse_id'])
        .execute();
    },
  },
  '0002_idempotency_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('body', 'text')
        .addColumn('headers_json', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
    },
  },
  '0003_sync': syncMigration,
  '0004_holds': holdsMigration,
  '0005_orders': ordersMigration,
  '0006_holds_fast': holdsFastMigration,
  '0007_fulfillment_facts': fulfillmentFactsMigration,
  '0008_shortage': shortageMigration,
  '0009_quotas': quotasMigration,
  '0010_holds_batch': holdsBatchMigration,
  '0011_allocation_shipping': allocationShippingMigration,
  '0012_holds_many': holdsManyMigration,
};

export const migrationNames = Object.keys(steps).sort();

const provider: MigrationProvider = { getMigrations: async () => steps };

/**
 * On PostgreSQL the bookkeeping tables are pinned to the hub's schema: Kysely looks them up across
 * all schemas, so another hub's schema in the same database would otherwise look like ours.
 */
export function createMigrator(db: Kysely<unknown>, schema?: string): Migrator {
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/** Applies every pending step; throws (and the process exits) if any fails. */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const { error, results } = await createMigrator(db, schema).migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** True when every known step is applied: what `/readyz` reports. */
export async function migrationsApplied(db: Kysely<unknown>, schema?: string): Promise<boolean> {
  const applied = await createMigrator(db, schema).getMigrations();
  return migrationNames.every((name) => applied.some((migration) => migration.name === name && migration.executedAt));
}
