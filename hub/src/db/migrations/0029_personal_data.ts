// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Personal data at rest (docs/operations.md, "Personal data"): each customer's data keys, wrapped by
 * the key-encryption key and found by the keyed hash of the e-mail. Orders written before this step
 * are sealed, and their `customer_email` turned into that keyed hash, at the hub's next start
 * (db/personal-data.ts needs the key-encryption key, which a migration does not have).
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('customer_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email_key', 'text', (c) => c.notNull())
      .addColumn('data_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('customer_keys_email')
      .on('customer_keys')
      .columns(['email_key', 'created_at'])
      .execute();
  },
};
