// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * SQLite: what each client holds of each SKU, kept by triggers on `hold_lines`
 * (docs/operations.md, "Hold cap"). The cap check used to sum every counted line of the client and
 * SKU on each hold: a storefront backend holding for a whole flash sale as one client paid for every
 * hold it already had, and its holds slowed as they piled up. Now it reads one row, less the few
 * lines that expired and are not settled yet. Lines without a client (older than 0027) are not
 * counted, as before. PostgreSQL checks the cap once per batch inside its reserve functions and
 * does not need this.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) return;
    await sql`CREATE TABLE client_held_units (
      client_id TEXT NOT NULL, sku TEXT NOT NULL, units INTEGER NOT NULL,
      PRIMARY KEY (client_id, sku)) WITHOUT ROWID`.execute(db);
    const add = (line: 'new' | 'old', sign: '+' | '-') =>
      sql.raw(`INSERT INTO client_held_units (client_id, sku, units)
        SELECT ${line}.client_id, ${line}.sku, ${sign}${line}.quantity WHERE ${line}.client_id IS NOT NULL AND ${line}.counted = 1
        ON CONFLICT (client_id, sku) DO UPDATE SET units = units + excluded.units;`);
    await sql`CREATE TRIGGER client_held_units_insert AFTER INSERT ON hold_lines BEGIN ${add('new', '+')} END`.execute(
      db,
    );
    await sql`CREATE TRIGGER client_held_units_update AFTER UPDATE OF counted, quantity, client_id, sku ON hold_lines BEGIN
      ${add('old', '-')} ${add('new', '+')} END`.execute(db);
    await sql`CREATE TRIGGER client_held_units_delete AFTER DELETE ON hold_lines BEGIN ${add('old', '-')} END`.execute(
      db,
    );
    await sql`INSERT INTO client_held_units (client_id, sku, units)
      SELECT client_id, sku, sum(quantity) FROM hold_lines WHERE client_id IS NOT NULL AND counted = 1
      GROUP BY client_id, sku`.execute(db);
  },
};
