// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Full-text search on product name and description (docs/catalog.md, "Reads at cache speed").
 *
 * PostgreSQL: a GIN index on the `simple` text-search vector of name and description; the list
 * query repeats the same expression, so the planner uses the index.
 *
 * SQLite: an FTS5 table kept by triggers. Its rowid comes from `product_search`, whose INTEGER
 * PRIMARY KEY is stable (a plain table's implicit rowid may change on VACUUM), one row per product;
 * `remove_diacritics 2` lets "boucle" find "bouclé". Existing products are indexed here.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`CREATE INDEX products_search ON products
        USING gin (to_tsvector('simple', name || ' ' || coalesce(description, '')))`.execute(db);
      return;
    }
    await sql`CREATE TABLE product_search (rowid INTEGER PRIMARY KEY, product_id TEXT NOT NULL UNIQUE)`.execute(db);
    await sql`CREATE VIRTUAL TABLE products_fts USING fts5(
      name, description, tokenize = 'unicode61 remove_diacritics 2')`.execute(db);
    const row = (id: string) => sql.raw(`(SELECT rowid FROM product_search WHERE product_id = ${id})`);
    await sql`CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
      INSERT INTO product_search (product_id) VALUES (new.id);
      INSERT INTO products_fts (rowid, name, description) VALUES (${row('new.id')}, new.name, coalesce(new.description, ''));
    END`.execute(db);
    await sql`CREATE TRIGGER products_search_update AFTER UPDATE OF name, description ON products BEGIN
      DELETE FROM products_fts WHERE rowid = ${row('old.id')};
      INSERT INTO products_fts (rowid, name, description) VALUES (${row('new.id')}, new.name, coalesce(new.description, ''));
    END`.execute(db);
    await sql`CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
      DELETE FROM products_fts WHERE rowid = ${row('old.id')};
      DELETE FROM product_search WHERE product_id = old.id;
    END`.execute(db);
    await sql`INSERT INTO product_search (product_id) SELECT id FROM products ORDER BY id`.execute(db);
    await sql`INSERT INTO products_fts (rowid, name, description)
      SELECT s.rowid, p.name, coalesce(p.description, '') FROM products p JOIN product_search s ON s.product_id = p.id`.execute(
      db,
    );
  },
};
