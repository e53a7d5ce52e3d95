import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import { migration as m0001 } from './migrations/0001_catalog_identity_stock.ts';
import { migration as m0002 } from './migrations/0002_idempotency_keys.ts';
import { migration as m0003 } from './migrations/0003_sync.ts';
import { migration as m0004 } from './migrations/0004_holds.ts';
import { migration as m0005 } from './migrations/0005_orders.ts';
import { migration as m0006 } from './migrations/0006_holds_fast.ts';
import { migration as m0007 } from './migrations/0007_fulfillment_facts.ts';
import { migration as m0008 } from './migrations/0008_shortage.ts';
import { migration as m0009 } from './migrations/0009_quotas.ts';
import { migration as m0010 } from './migrations/0010_holds_batch.ts';
import { migration as m0011 } from './migrations/0011_allocation_shipping.ts';
import { migration as m0012 } from './migrations/0012_holds_many.ts';
import { migration as m0014 } from './migrations/0014_webhooks.ts';
import { migration as m0015 } from './migrations/0015_order_lookup.ts';
import { migration as m0016 } from './migrations/0016_carrier_tracking.ts';
import { migration as m0017 } from './migrations/0017_tracking_token.ts';
import { migration as m0020 } from './migrations/0020_returns.ts';
import { migration as m0018 } from './migrations/0018_client_budgets.ts';
import { migration as m0019 } from './migrations/0019_notifications.ts';
import { migration as m0021 } from './migrations/0021_drop_reserve_batch.ts';
import { migration as m0022 } from './migrations/0022_exchanges.ts';
import { migration as m0023 } from './migrations/0023_configurable_products.ts';
import { migration as m0024 } from './migrations/0024_catalog_filters.ts';
import { migration as m0025 } from './migrations/0025_audit_log.ts';
import { migration as m0027 } from './migrations/0027_hold_caps.ts';
import { migration as m0028 } from './migrations/0028_staff_mfa.ts';
import { migration as m0029 } from './migrations/0029_personal_data.ts';
import { migration as m0030 } from './migrations/0030_supply.ts';
import { migration as m0031 } from './migrations/0031_catalog_search.ts';
import { migration as m0032 } from './migrations/0032_jobs.ts';
import { migration as m0033 } from './migrations/0033_client_held_units.ts';
import { migration as m0034 } from './migrations/0034_stock_events_unindexed_partition.ts';
import { migration as m0035 } from './migrations/0035_client_partition_held.ts';

/**
 * Versioned migrations, one list for both adapters. Written with Kysely's schema builder and
 * portable types only (text, bigint, integer, double precision), so the same step runs on SQLite
 * and PostgreSQL. Never edit a shipped step: append a new one.
 */
const steps: Record<string, Migration> = {
  '0001_catalog_identity_stock': m0001,
  '0002_idempotency_keys': m0002,
  '0003_sync': m0003,
  '0004_holds': m0004,
  '0005_orders': m0005,
  '0006_holds_fast': m0006,
  '0007_fulfillment_facts': m0007,
  '0008_shortage': m0008,
  '0009_quotas': m0009,
  '0010_holds_batch': m0010,
  '0011_allocation_shipping': m0011,
  '0012_holds_many': m0012,
  '0014_webhooks': m0014,
  '0015_order_lookup': m0015,
  '0016_carrier_tracking': m0016,
  '0017_tracking_token': m0017,
  '0020_returns': m0020,
  '0018_client_budgets': m0018,
  '0019_notifications': m0019,
  '0021_drop_reserve_batch': m0021,
  '0022_exchanges': m0022,
  '0023_configurable_products': m0023,
  '0024_catalog_filters': m0024,
  '0025_audit_log': m0025,
  '0027_hold_caps': m0027,
  '0028_staff_mfa': m0028,
  '0029_personal_data': m0029,
  '0030_supply': m0030,
  '0031_catalog_search': m0031,
  '0032_jobs': m0032,
  '0033_client_held_units': m0033,
  '0034_stock_events_unindexed_partition': m0034,
  '0035_client_partition_held': m0035,
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
