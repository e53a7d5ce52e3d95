import { normalizeGtin } from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';

type VariantRow = { sku: string; name: string; gtin: string | null; options: string; archived: number };

export type CatalogEntry = {
  sku: string;
  gtin: string | null;
  /** What staff call it: the product name and its option values, e.g. "Oslo sofa grey". */
  label: string;
  archived: boolean;
};

/**
 * The edge's replica of the hub's catalog as the scanner app reads it: product names for SKUs, and
 * the SKU a scanned GTIN stands for. GTINs compare as GTIN-14, so an EAN-13 on a label finds the
 * GTIN-14 inside a GS1-128 code and back.
 */
export class CatalogReader {
  readonly #bySku;
  readonly #all;

  constructor(db: EdgeDatabase) {
    this.#bySku = db.prepare<[string], VariantRow>(
      'SELECT sku, name, gtin, options, archived FROM catalog_variant WHERE sku = ?',
    );
    // GTINs are few per warehouse catalog and stored as typed; compare normalized in code.
    this.#all = db.prepare<[], VariantRow>(
      'SELECT sku, name, gtin, options, archived FROM catalog_variant WHERE gtin IS NOT NULL',
    );
  }

  bySkus(skus: readonly string[]): CatalogEntry[] {
    return skus.flatMap((sku) => {
      const row = this.#bySku.get(sku);
      return row ? [present(row)] : [];
    });
  }

  /** A scanned code: a SKU as typed, or any GTIN form. */
  lookup(code: string): CatalogEntry | undefined {
    const row = this.#bySku.get(code);
    if (row) return present(row);
    const gtin = normalizeGtin(code);
    if (gtin === undefined) return undefined;
    const match = this.#all.all().find((variant) => normalizeGtin(variant.gtin ?? '') === gtin);
    return match ? present(match) : undefined;
  }
}

function present(row: VariantRow): CatalogEntry {
  const options = Object.values(JSON.parse(row.options) as Record<string, string>);
  return {
    sku: row.sku,
    gtin: row.gtin,
    label: [row.name, ...options].join(' '),
    archived: row.archived === 1,
  };
}
