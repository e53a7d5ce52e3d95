import {
  assert,
  badRequest,
  type ConfigurableOption,
  type Configuration,
  conflict,
  DomainError,
  limits,
  newId,
  notFound,
  type PriceBreakdown,
  type Product,
  type ProductCreate,
  type ProductUpdate,
  priceConfiguredUnit,
  productSchema,
  resolveConfiguration,
  type Variant,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { availableSql } from '../db/available.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { mapUniqueViolation } from '../db/errors.ts';
import { appendDownstream, appendDownstreamMany } from '../downstream/outbox.ts';
import { catalogCacheOf } from './cache.ts';
import { matchesSearch } from './search.ts';
import type { ProductsTable, VariantsTable } from './tables.ts';

export const catalogChannel = 'catalog';

export type ProductFilters = {
  category?: string;
  material?: string;
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  includeArchived?: boolean;
  /** Products offering each of these option values (a variant option or a configurable choice). */
  options?: Array<{ name: string; value: string }>;
  /** Products with a variant available at this warehouse (at `nowMs`). */
  inStockAt?: string;
  nowMs?: number;
  cursor?: string;
  limit: number;
};

/** A variant's supply fields as the API shows them (docs/catalog.md): only what differs from plain stock. */
function variantSupply(row: Selectable<VariantsTable>): Partial<Variant> {
  const out: Partial<Variant> = {};
  if (row.fulfillment === 'made_to_order') {
    out.fulfillment = 'made_to_order';
    out.leadTimeDays = Number(row.lead_time_days ?? 0);
    if (row.production_warehouse_id !== null) out.productionWarehouseId = row.production_warehouse_id;
  } else if (row.lead_time_days !== null) out.leadTimeDays = Number(row.lead_time_days);
  if (Number(row.preorder_cap) > 0) out.preorderCap = Number(row.preorder_cap);
  return out;
}

/** The supply columns of a variant row (0030). */
export function variantSupplyRow(variant: Variant) {
  return {
    fulfillment: variant.fulfillment ?? 'stock',
    lead_time_days: variant.leadTimeDays ?? null,
    production_warehouse_id: variant.productionWarehouseId ?? null,
    preorder_cap: variant.preorderCap ?? 0,
  };
}

/** A variant as its `variants` row: the `position`-th variant of product `productId`. */
function variantRow(productId: string, variant: Variant, position: number) {
  return {
    sku: variant.sku,
    product_id: productId,
    position,
    gtin: variant.gtin ?? null,
    options_json: JSON.stringify(variant.options),
    price: variant.price ?? null,
    ...variantSupplyRow(variant),
  };
}

function toProduct(row: Selectable<ProductsTable>, variants: Selectable<VariantsTable>[]): Product {
  const product: Product = {
    id: row.id,
    name: row.name,
    category: row.category as Product['category'],
    basePrice: Number(row.base_price),
    currency: row.currency,
    variants: variants.map((variant) => {
      const out: Variant = { sku: variant.sku, options: JSON.parse(variant.options_json) as Variant['options'] };
      if (variant.gtin !== null) out.gtin = variant.gtin;
      if (variant.price !== null) out.price = Number(variant.price);
      return { ...out, ...variantSupply(variant) };
    }),
    archived: Number(row.archived) === 1,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.material !== null) product.material = row.material;
  if (row.description !== null) product.description = row.description;
  if (row.dimensions_json !== null) product.dimensions = JSON.parse(row.dimensions_json) as Product['dimensions'];
  if (row.options_json !== null) product.options = JSON.parse(row.options_json) as Product['options'];
  if (row.configurable_json !== null)
    product.configurableOptions = JSON.parse(row.configurable_json) as Product['configurableOptions'];
  return product;
}

async function loadProducts(
  db: Kysely<Database> | Transaction<Database>,
  rows: Selectable<ProductsTable>[],
): Promise<Product[]> {
  if (rows.length === 0) return [];
  const variants = await db
    .selectFrom('variants')
    .selectAll()
    .where(
      'product_id',
      'in',
      rows.map((row) => row.id),
    )
    .orderBy('product_id')
    .orderBy('position')
    .execute();
  const byProduct = new Map<string, Selectable<VariantsTable>[]>();
  for (const variant of variants) {
    const list = byProduct.get(variant.product_id) ?? [];
    list.push(variant);
    byProduct.set(variant.product_id, list);
  }
  return rows.map((row) => {
    const product = toProduct(row, byProduct.get(row.id) ?? []);
    // Assert data right after it is read back: a row that does not decode is a bug, not input.
    assert(productSchema.safeParse(product).success, `product ${row.id} decodes`);
    return product;
  });
}

function productRow(
  id: string,
  input: ProductCreate | ProductUpdate,
  version: number,
  createdAt: number,
  nowMs: number,
): Selectable<ProductsTable> {
  return {
    id,
    name: input.name,
    category: input.category,
    material: input.material ?? null,
    description: input.description ?? null,
    base_price: input.basePrice,
    currency: input.currency,
    dimensions_json: input.dimensions ? JSON.stringify(input.dimensions) : null,
    options_json: input.options ? JSON.stringify(input.options) : null,
    configurable_json:
      input.configurableOptions && input.configurableOptions.length > 0
        ? JSON.stringify(input.configurableOptions)
        : null,
    archived: 'archived' in input && input.archived ? 1 : 0,
    version,
    created_at: createdAt,
    updated_at: nowMs,
  };
}

async function assertSkusFree(trx: Transaction<Database>, productId: string, variants: Variant[]): Promise<void> {
  const taken = await trx
    .selectFrom('variants')
    .select(['sku', 'product_id'])
    .where(
      'sku',
      'in',
      variants.map((variant) => variant.sku),
    )
    .where('product_id', '!=', productId)
    .execute();
  if (taken.length > 0) {
    throw conflict('sku_taken', `SKU already belongs to another product: ${taken.map((row) => row.sku).join(', ')}`, {
      skus: taken.map((row) => row.sku),
    });
  }
}

/** Every option value the product offers, one row each (0024): what `?option.<name>=<value>` finds. */
function optionValuePairs(product: Product): Set<string> {
  const pairs = new Set<string>();
  for (const option of product.options ?? [])
    for (const value of option.values) pairs.add(JSON.stringify([option.name, value]));
  for (const option of product.configurableOptions ?? [])
    if (option.type === 'choice')
      for (const choice of option.choices) pairs.add(JSON.stringify([option.name, choice.value]));
  for (const variant of product.variants)
    for (const [name, value] of Object.entries(variant.options)) pairs.add(JSON.stringify([name, value]));
  return pairs;
}

async function writeOptionValues(trx: Transaction<Database>, product: Product): Promise<void> {
  const pairs = optionValuePairs(product);
  await trx.deleteFrom('product_option_values').where('product_id', '=', product.id).execute();
  if (pairs.size === 0) return;
  await trx
    .insertInto('product_option_values')
    .values(
      [...pairs].map((pair) => {
        const [name, value] = JSON.parse(pair) as [string, string];
        return { product_id: product.id, name, value };
      }),
    )
    .execute();
}

async function writeVariants(trx: Transaction<Database>, productId: string, variants: Variant[]): Promise<void> {
  await trx.deleteFrom('variants').where('product_id', '=', productId).execute();
  await trx
    .insertInto('variants')
    .values(variants.map((variant, position) => variantRow(productId, variant, position)))
    .execute();
}

const skuRace = () => conflict('sku_taken', 'a SKU of this product was taken by a concurrent write');

export async function createProduct(
  db: Kysely<Database>,
  input: ProductCreate,
  nowMs: number,
  id: string = newId(),
): Promise<Product> {
  const product = await mapUniqueViolation(() => createProductOnce(db, input, nowMs, id), skuRace);
  catalogCacheOf(db).invalidate();
  return product;
}

async function createProductOnce(
  db: Kysely<Database>,
  input: ProductCreate,
  nowMs: number,
  id: string,
): Promise<Product> {
  return db.transaction().execute(async (trx) => {
    await assertSkusFree(trx, id, input.variants);
    const row = productRow(id, input, 1, nowMs, nowMs);
    await trx.insertInto('products').values(row).execute();
    await writeVariants(trx, id, input.variants);
    const [product] = await loadProducts(trx, [row]);
    assert(product, 'created product reads back');
    await writeOptionValues(trx, product);
    await appendDownstream(trx, catalogChannel, 'product.upserted', product, nowMs);
    return product;
  });
}

/** One product, from the catalog cache when it holds it (catalog/cache.ts). Callers must not change it. */
export async function getProduct(db: Kysely<Database>, id: string): Promise<Product> {
  return catalogCacheOf(db).read(`product:${id}`, () => readProduct(db, id));
}

async function readProduct(db: Kysely<Database>, id: string): Promise<Product> {
  const row = await db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('product');
  const [product] = await loadProducts(db, [row]);
  assert(product, 'product reads back');
  return product;
}

/**
 * Optimistic concurrency: the write succeeds only where the stored version still equals the one
 * the client read (a conditional update, so two racing writers cannot both win on either adapter).
 */
export async function updateProduct(
  db: Kysely<Database>,
  id: string,
  expectedVersion: number,
  input: ProductUpdate,
  nowMs: number,
): Promise<Product> {
  const product = await mapUniqueViolation(() => updateProductOnce(db, id, expectedVersion, input, nowMs), skuRace);
  catalogCacheOf(db).invalidate();
  return product;
}

async function updateProductOnce(
  db: Kysely<Database>,
  id: string,
  expectedVersion: number,
  input: ProductUpdate,
  nowMs: number,
): Promise<Product> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
    if (!current) throw notFound('product');
    const currentVersion = Number(current.version);
    if (currentVersion !== expectedVersion) {
      throw new DomainError(
        'precondition_failed',
        'version_mismatch',
        `product is at version ${currentVersion}, not ${expectedVersion}`,
        {
          currentVersion,
        },
      );
    }
    const row = productRow(id, input, currentVersion + 1, Number(current.created_at), nowMs);
    if (input.archived === undefined) row.archived = Number(current.archived);
    const { id: _id, created_at: _createdAt, ...changes } = row;
    const result = await trx
      .updateTable('products')
      .set(changes)
      .where('id', '=', id)
      .where('version', '=', currentVersion)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new DomainError('precondition_failed', 'version_mismatch', 'product changed concurrently', {
        currentVersion: currentVersion + 1,
      });
    }
    if (input.variants) {
      await assertSkusFree(trx, id, input.variants);
      await writeVariants(trx, id, input.variants);
    }
    const [product] = await loadProducts(trx, [row]);
    assert(product, 'updated product reads back');
    await writeOptionValues(trx, product);
    await appendDownstream(
      trx,
      catalogChannel,
      product.archived ? 'product.archived' : 'product.upserted',
      product,
      nowMs,
    );
    return product;
  });
}

/**
 * A page of products. Pages are cached (catalog/cache.ts) except when filtered by stock, which moves
 * without any catalog write.
 */
export async function listProducts(
  db: Kysely<Database>,
  filters: ProductFilters,
): Promise<{ items: Product[]; nextCursor: string | null }> {
  if (filters.inStockAt !== undefined) return readProducts(db, filters);
  const { nowMs: _nowMs, ...key } = filters;
  return catalogCacheOf(db).read(`list:${JSON.stringify(key)}`, () => readProducts(db, filters));
}

async function readProducts(
  db: Kysely<Database>,
  filters: ProductFilters,
): Promise<{ items: Product[]; nextCursor: string | null }> {
  assert(filters.limit >= 1 && filters.limit <= limits.pageSizeMax, 'page size within bound');
  if (filters.minPrice !== undefined && filters.maxPrice !== undefined && filters.minPrice > filters.maxPrice) {
    throw badRequest('invalid_input', 'minPrice must not exceed maxPrice', {
      issues: [{ path: 'minPrice', message: 'exceeds maxPrice', code: 'too_big' }],
    });
  }
  const after = decodeCursor(filters.cursor);
  if (filters.cursor !== undefined && after === undefined) {
    throw badRequest('invalid_input', 'invalid cursor', {
      issues: [{ path: 'cursor', message: 'not a cursor', code: 'invalid_string' }],
    });
  }
  let query = db.selectFrom('products').selectAll();
  if (!filters.includeArchived) query = query.where('archived', '=', 0);
  if (filters.category) query = query.where('category', '=', filters.category);
  if (filters.material)
    query = query.where((eb) => eb(eb.fn('lower', ['material']), '=', filters.material!.toLowerCase()));
  if (filters.minPrice !== undefined) query = query.where('base_price', '>=', filters.minPrice);
  if (filters.maxPrice !== undefined) query = query.where('base_price', '<=', filters.maxPrice);
  if (filters.q) query = query.where(matchesSearch(db, filters.q));
  for (const option of filters.options ?? []) {
    query = query.where('id', 'in', (eb) =>
      eb
        .selectFrom('product_option_values')
        .select('product_id')
        .where('name', '=', option.name)
        .where('value', '=', option.value),
    );
  }
  if (filters.inStockAt !== undefined) {
    const warehouseId = filters.inStockAt;
    const nowMs = filters.nowMs ?? Date.now();
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('variants as v')
          .innerJoin('stock_partitions as p', 'p.sku', 'v.sku')
          .select('v.sku')
          .whereRef('v.product_id', '=', 'products.id')
          .where('p.warehouse_id', '=', warehouseId)
          .where(availableSql('p', nowMs), '>', 0),
      ),
    );
  }
  if (after) query = query.where('id', '>', after);
  const rows = await query
    .orderBy('id')
    .limit(filters.limit + 1)
    .execute();
  const page = rows.slice(0, filters.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > filters.limit && last ? encodeCursor(last.id) : null;
  return { items: await loadProducts(db, page), nextCursor };
}

/** Whether a SKU is in the catalog (any product, archived or not). */
export async function skuExists(db: Kysely<Database>, sku: string): Promise<boolean> {
  const row = await db.selectFrom('variants').select('sku').where('sku', '=', sku).executeTakeFirst();
  return row !== undefined;
}

/** What prices one SKU: its product's base price, options and currency, and the variant's own price. */
export type SkuPricing = {
  sku: string;
  basePrice: number;
  variantPrice: number | undefined;
  currency: string;
  configurableOptions: ConfigurableOption[] | undefined;
};

/** The pricing of each SKU found in the catalog (archived products included: a hold may outlive them). */
export async function readSkuPricing(
  db: Kysely<Database> | Transaction<Database>,
  skus: readonly string[],
): Promise<Map<string, SkuPricing>> {
  if (skus.length === 0) return new Map();
  const rows = await db
    .selectFrom('variants')
    .innerJoin('products', 'products.id', 'variants.product_id')
    .select([
      'variants.sku',
      'variants.price',
      'products.base_price',
      'products.currency',
      'products.configurable_json',
    ])
    .where('variants.sku', 'in', [...skus])
    .execute();
  return new Map(
    rows.map((row) => [
      row.sku,
      {
        sku: row.sku,
        basePrice: Number(row.base_price),
        variantPrice: row.price === null ? undefined : Number(row.price),
        currency: row.currency,
        configurableOptions:
          row.configurable_json === null ? undefined : (JSON.parse(row.configurable_json) as ConfigurableOption[]),
      },
    ]),
  );
}

/**
 * A line's configuration checked against its product (docs/catalog.md) and its unit price with the
 * breakdown. A refusal names the line's SKU and the option.
 */
export function priceLine(
  pricing: SkuPricing,
  configuration: Configuration | undefined,
): { configuration: Configuration | undefined; breakdown: PriceBreakdown } {
  let resolved: Configuration | undefined;
  try {
    resolved = resolveConfiguration(pricing.configurableOptions, configuration);
  } catch (error) {
    if (error instanceof DomainError) {
      throw new DomainError(error.kind, error.code, `${pricing.sku} ${error.message}`, {
        sku: pricing.sku,
        ...(error.details as object),
      });
    }
    throw error;
  }
  const breakdown = priceConfiguredUnit(
    { basePrice: pricing.basePrice, configurableOptions: pricing.configurableOptions },
    { price: pricing.variantPrice },
    resolved,
  );
  return { configuration: resolved, breakdown };
}

/** One product of an import: its id (given, or the owner of one of its SKUs), and its fields. */
export type ImportedProduct = { id: string | undefined; input: ProductUpdate & { variants: Variant[] } };

/** `variant` with the supply fields of `kept` when it names none of its own (an import from CSV). */
function keepSupply(variant: Variant, kept: Variant | undefined): Variant {
  if (!kept) return variant;
  if (
    variant.fulfillment !== undefined ||
    variant.leadTimeDays !== undefined ||
    variant.productionWarehouseId !== undefined ||
    variant.preorderCap !== undefined
  )
    return variant;
  const { fulfillment, leadTimeDays, productionWarehouseId, preorderCap } = kept;
  return {
    ...variant,
    ...(fulfillment !== undefined ? { fulfillment } : {}),
    ...(leadTimeDays !== undefined ? { leadTimeDays } : {}),
    ...(productionWarehouseId !== undefined ? { productionWarehouseId } : {}),
    ...(preorderCap !== undefined ? { preorderCap } : {}),
  };
}

function sameContent(current: Product, next: Product): boolean {
  const strip = ({ version: _v, createdAt: _c, updatedAt: _u, ...rest }: Product) => rest;
  return JSON.stringify(strip(current)) === JSON.stringify(strip(next));
}

const importChunk = 400;

function chunks<T>(items: readonly T[], size = importChunk): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * Writes imported products in ONE transaction (docs/catalog.md), idempotent by SKU: a product is
 * the one its id names, else the one owning one of its SKUs, else new. A product whose content is
 * unchanged is not written (no new version, no change downstream), so importing a file twice
 * changes nothing the second time. A SKU owned by another product is a conflict naming it. Reads
 * and writes go a chunk of products at a time; each written product is one downstream change.
 * `onProgress` is told how many products are done.
 */
export async function importProducts(
  db: Kysely<Database>,
  products: readonly ImportedProduct[],
  nowMs: number,
  onProgress: (done: number) => void = () => undefined,
): Promise<{ created: number; updated: number; unchanged: number }> {
  const counts = { created: 0, updated: 0, unchanged: 0 };
  await mapUniqueViolation(
    () =>
      db.transaction().execute(async (trx) => {
        const skus = products.flatMap((product) => product.input.variants.map((variant) => variant.sku));
        const owners = new Map<string, string>();
        for (const chunk of chunks(skus)) {
          const rows = await trx
            .selectFrom('variants')
            .select(['sku', 'product_id'])
            .where('sku', 'in', chunk)
            .execute();
          for (const row of rows) owners.set(row.sku, row.product_id);
        }
        const planned = products.map(({ id: givenId, input }) => {
          const ownerIds = new Set(
            input.variants.map((variant) => owners.get(variant.sku)).filter((owner) => owner !== undefined),
          );
          const id = givenId ?? [...ownerIds][0] ?? newId();
          const foreign = input.variants.filter((variant) => {
            const owner = owners.get(variant.sku);
            return owner !== undefined && owner !== id;
          });
          if (foreign.length > 0)
            throw conflict(
              'sku_taken',
              `SKU already belongs to another product: ${foreign.map((variant) => variant.sku).join(', ')}`,
              { skus: foreign.map((variant) => variant.sku) },
            );
          return { id, input };
        });
        const currents = new Map<string, Product>();
        for (const chunk of chunks(planned.map((plan) => plan.id))) {
          const rows = await trx.selectFrom('products').selectAll().where('id', 'in', chunk).execute();
          for (const product of await loadProducts(trx, rows)) currents.set(product.id, product);
        }
        const created: Array<{ row: Selectable<ProductsTable>; product: Product }> = [];
        const updated: Array<{ row: Selectable<ProductsTable>; product: Product }> = [];
        for (const { id, input } of planned) {
          const current = currents.get(id);
          const row = productRow(id, input, current ? current.version + 1 : 1, current?.createdAt ?? nowMs, nowMs);
          // The CSV has no supply columns (docs/catalog.md): a variant keeps the supply it has.
          const before = new Map(current?.variants.map((variant) => [variant.sku, variant]));
          const product = toProduct(
            row,
            input.variants
              .map((variant) => keepSupply(variant, before.get(variant.sku)))
              .map((variant, position) => variantRow(id, variant, position)),
          );
          if (current && sameContent(current, product)) counts.unchanged++;
          else (current ? updated : created).push({ row, product });
        }
        counts.created = created.length;
        counts.updated = updated.length;
        for (const chunk of chunks(updated)) {
          const ids = chunk.map((entry) => entry.product.id);
          await trx.deleteFrom('variants').where('product_id', 'in', ids).execute();
          await trx.deleteFrom('product_option_values').where('product_id', 'in', ids).execute();
          for (const { row } of chunk) {
            const { id: _id, created_at: _createdAt, ...changes } = row;
            await trx.updateTable('products').set(changes).where('id', '=', row.id).execute();
          }
        }
        for (const chunk of chunks(created, 200))
          await trx
            .insertInto('products')
            .values(chunk.map((entry) => entry.row))
            .execute();
        const written = [...updated, ...created].map((entry) => entry.product);
        const variantRows = written.flatMap((product) =>
          product.variants.map((variant, position) => variantRow(product.id, variant, position)),
        );
        for (const chunk of chunks(variantRows)) await trx.insertInto('variants').values(chunk).execute();
        const optionRows = written.flatMap((product) =>
          [...optionValuePairs(product)].map((pair) => {
            const [name, value] = JSON.parse(pair) as [string, string];
            return { product_id: product.id, name, value };
          }),
        );
        for (const chunk of chunks(optionRows)) await trx.insertInto('product_option_values').values(chunk).execute();
        onProgress(counts.unchanged);
        for (const [index, chunk] of chunks(written, 500).entries()) {
          await appendDownstreamMany(
            trx,
            catalogChannel,
            chunk.map((product) => ({
              kind: product.archived ? ('product.archived' as const) : ('product.upserted' as const),
              payload: product,
            })),
            nowMs,
          );
          onProgress(Math.min(products.length, counts.unchanged + (index + 1) * 500));
        }
        onProgress(products.length);
      }),
    skuRace,
  );
  catalogCacheOf(db).invalidate();
  return counts;
}
