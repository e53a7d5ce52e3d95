// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** A request budget per API client (requests per second and burst); null takes the hub's default. */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('api_clients').addColumn('requests_per_second', 'integer').execute();
    await db.schema.alterTable('api_clients').addColumn('requests_burst', 'integer').execute();
  },
};
