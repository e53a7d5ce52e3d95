// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * `0021_drop_reserve_batch`: drops `dovetail_reserve_batch` (0010) on PostgreSQL, which
 * `dovetail_reserve_many` (0012) replaced: no hub since 0012 calls it. Nothing changes on SQLite.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter)
      await sql`DROP FUNCTION IF EXISTS dovetail_reserve_batch(jsonb)`.execute(db);
  },
};
