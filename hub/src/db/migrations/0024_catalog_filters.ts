// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Catalog filters with an index each (docs/catalog.md): every option value a product offers (its
 * variants' options, its declared option values and its configurable choices) one row each, found
 * by (name, value); price, material and name indexes for the other filters (category has one since 0001). Existing products
 * are backfilled here.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('product_option_values')
      .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('product_option_values_pk', ['product_id', 'name', 'value'])
      .execute();
    await db.schema
      .createIndex('product_option_values_lookup')
      .on('product_option_values')
      .columns(['name', 'value', 'product_id'])
      .execute();
    await db.schema.createIndex('products_price').on('products').columns(['base_price', 'id']).execute();
    await db.schema.createIndex('products_material').on('products').expression(sql`lower(material)`).execute();
    await db.schema.createIndex('products_name').on('products').expression(sql`lower(name)`).execute();

    type Row = { id: string; options_json: string | null; configurable_json: string | null };
    const products = await sql<Row>`select id, options_json, configurable_json from products`.execute(db);
    const variants = await sql<{ product_id: string; options_json: string }>`
      select product_id, options_json from variants`.execute(db);
    const values = new Map<string, Set<string>>();
    const add = (productId: string, name: string, value: string) => {
      const set = values.get(productId) ?? new Set<string>();
      set.add(JSON.stringify([name, value]));
      values.set(productId, set);
    };
    for (const product of products.rows) {
      for (const option of JSON.parse(product.options_json ?? '[]') as Array<{ name: string; values: string[] }>)
        for (const value of option.values) add(product.id, option.name, value);
      const configurable = JSON.parse(product.configurable_json ?? '[]') as Array<{
        name: string;
        type: string;
        choices?: Array<{ value: string }>;
      }>;
      for (const option of configurable)
        for (const choice of option.type === 'choice' ? (option.choices ?? []) : [])
          add(product.id, option.name, choice.value);
    }
    for (const variant of variants.rows)
      for (const [name, value] of Object.entries(JSON.parse(variant.options_json) as Record<string, string>))
        add(variant.product_id, name, value);
    for (const [productId, set] of values) {
      for (const pair of set) {
        const [name, value] = JSON.parse(pair) as [string, string];
        await sql`insert into product_option_values (product_id, name, value) values (${productId}, ${name}, ${value})`.execute(
          db,
        );
      }
    }
  },
};
