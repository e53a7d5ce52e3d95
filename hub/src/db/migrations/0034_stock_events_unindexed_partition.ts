// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Drops `stock_events_partition` (warehouse, SKU, applied time), which no query reads: the replica
 * is read from `stock_partitions`, a stream's events by its primary key, known ids by `event_id`.
 * Every applied event paid for the index: a fourth B-tree insert and its pages in the WAL, about a
 * tenth of the hub's time per event in a catch-up drain (docs/architecture.md, "Catch-up").
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('stock_events_partition').ifExists().execute();
  },
};
