import { assert, limits, type Product } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { availableSql } from '../db/available.ts';
import { listProducts } from './service.ts';

/**
 * The catalog as merchandisers keep it (docs/catalog.md): one CSV row per variant, the product's
 * fields repeated on each of its rows; option lists as JSON cells. Export and import use the same
 * columns, so an export re-imports unchanged.
 */
export const catalogColumns = [
  'product_id',
  'name',
  'category',
  'material',
  'description',
  'base_price',
  'currency',
  'width_cm',
  'depth_cm',
  'height_cm',
  'options',
  'configurable_options',
  'archived',
  'sku',
  'gtin',
  'variant_options',
  'variant_price',
] as const;
export type CatalogColumn = (typeof catalogColumns)[number];
export type CatalogRow = Record<CatalogColumn, string>;

/** The rows of one product, in variant order. */
export function productRows(product: Product): CatalogRow[] {
  return product.variants.map((variant) => ({
    product_id: product.id,
    name: product.name,
    category: product.category,
    material: product.material ?? '',
    description: product.description ?? '',
    base_price: String(product.basePrice),
    currency: product.currency,
    width_cm: product.dimensions ? String(product.dimensions.widthCm) : '',
    depth_cm: product.dimensions ? String(product.dimensions.depthCm) : '',
    height_cm: product.dimensions ? String(product.dimensions.heightCm) : '',
    options: product.options ? JSON.stringify(product.options) : '',
    configurable_options: product.configurableOptions ? JSON.stringify(product.configurableOptions) : '',
    archived: product.archived ? 'true' : 'false',
    sku: variant.sku,
    gtin: variant.gtin ?? '',
    variant_options: JSON.stringify(variant.options),
    variant_price: variant.price === undefined ? '' : String(variant.price),
  }));
}

/** Every product, archived ones included, a page at a time (keyset by id): what an export streams. */
export async function* allProducts(db: Kysely<Database>): AsyncGenerator<Product[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await listProducts(db, { includeArchived: true, limit: limits.pageSizeMax, cursor });
    if (page.items.length > 0) yield page.items;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

export const stockColumns = [
  'warehouse_id',
  'sku',
  'on_hand',
  'available',
  'reserved',
  'committed',
  'damaged',
  'incoming',
  'safety_stock',
  'updated_at',
] as const;
export type StockRow = Record<(typeof stockColumns)[number], string | number>;

/** Stock levels per (warehouse, SKU), a page at a time in key order: the stock export. */
export async function* allStockRows(db: Kysely<Database>, nowMs: number): AsyncGenerator<StockRow[]> {
  let after: { warehouseId: string; sku: string } | undefined;
  for (;;) {
    let query = db
      .selectFrom('stock_partitions as p')
      .select([
        'p.warehouse_id',
        'p.sku',
        'p.on_hand',
        'p.reserved',
        'p.committed',
        'p.damaged',
        'p.incoming',
        'p.safety_stock',
        'p.updated_at',
        availableSql('p', nowMs).as('available'),
      ]);
    if (after) {
      const { warehouseId, sku } = after;
      query = query.where((eb) =>
        eb.or([
          eb('p.warehouse_id', '>', warehouseId),
          eb.and([eb('p.warehouse_id', '=', warehouseId), eb('p.sku', '>', sku)]),
        ]),
      );
    }
    const rows = await query.orderBy('p.warehouse_id').orderBy('p.sku').limit(limits.pageSizeMax).execute();
    if (rows.length === 0) return;
    yield rows.map((row) => ({
      warehouse_id: row.warehouse_id,
      sku: row.sku,
      on_hand: Number(row.on_hand),
      available: Number(row.available),
      reserved: Number(row.reserved),
      committed: Number(row.committed),
      damaged: Number(row.damaged),
      incoming: Number(row.incoming),
      safety_stock: Number(row.safety_stock),
      updated_at: new Date(Number(row.updated_at)).toISOString(),
    }));
    const last = rows.at(-1);
    assert(last !== undefined, 'a non-empty page has a last row');
    if (rows.length < limits.pageSizeMax) return;
    after = { warehouseId: last.warehouse_id, sku: last.sku };
  }
}
