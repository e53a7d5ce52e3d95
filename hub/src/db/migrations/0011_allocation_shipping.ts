// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** `allocations.shipping`: units a warehouse sent away before the fact that closes the row arrived. */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('allocations')
      .addColumn('shipping', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
