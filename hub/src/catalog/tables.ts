import type { ColumnType } from 'kysely';

/**
 * The hub's tables as both adapters store them. Portable on purpose: integer quantities and
 * epoch-millisecond times, text ids, JSON as text, booleans as 0/1 integers.
 */
export interface ProductsTable {
  id: string;
  name: string;
  category: string;
  material: string | null;
  description: string | null;
  base_price: number;
  currency: string;
  dimensions_json: string | null;
  options_json: string | null;
  /** The configurable options (JSON, 0023): fabric choices, width range… */
  configurable_json: string | null;
  archived: number;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface VariantsTable {
  sku: string;
  product_id: string;
  position: number;
  gtin: string | null;
  options_json: string;
  price: number | null;
  /** stock | made_to_order (0030). */
  fulfillment: ColumnType<string, string | undefined, string>;
  lead_time_days: number | null;
  production_warehouse_id: string | null;
  /** Units of a partition's `incoming` that may be promised at once (0030); 0: no pre-orders. */
  preorder_cap: ColumnType<number, number | undefined, number>;
}

/** Each option value a product offers, one row each (0024): what `?option.<name>=<value>` finds. */
export interface ProductOptionValuesTable {
  product_id: string;
  name: string;
  value: string;
}

export interface CatalogTables {
  products: ProductsTable;
  variants: VariantsTable;
  product_option_values: ProductOptionValuesTable;
}
