import { z } from 'zod';
import { isValidGtinCheckDigit } from '../../barcodes/gs1.ts';
import { skuSchema, warehouseIdSchema } from '../stock/schemas.ts';

/** GS1 mod-10 check digit; the rule lives with the GS1 parser the scanner app also loads. */
export { isValidGtinCheckDigit };

/** The catalog as an edge replicates it: enough to verify a scanned SKU and show what it is. */
export const productCategories = [
  'sofa',
  'armchair',
  'bed',
  'table',
  'chair',
  'storage',
  'lighting',
  'rug',
  'outdoor',
  'accessory',
] as const;
export const productCategorySchema = z.enum(productCategories);

export const gtinSchema = z
  .string()
  .regex(/^(\d{8}|\d{12}|\d{13}|\d{14})$/, 'GTIN: 8, 12, 13 or 14 digits')
  .refine(isValidGtinCheckDigit, 'GTIN check digit does not match');

export const dimensionsSchema = z.strictObject({
  widthCm: z.number().positive().max(10_000),
  depthCm: z.number().positive().max(10_000),
  heightCm: z.number().positive().max(10_000),
});

/** Option name → value, e.g. `{fabric: "boucle", color: "sand", size: "3-seat"}`. */
export const variantOptionsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(32)
      .regex(/^[a-z][a-zA-Z0-9_]*$/),
    z.string().min(1).max(64),
  )
  .refine((options) => Object.keys(options).length <= 10, 'at most 10 options');

export const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 currency code');
export const minorUnitsSchema = z.int().min(0).max(100_000_000_00);

/**
 * How a variant's units are supplied (docs/catalog.md, "Pre-orders and made-to-order"): `stock`
 * (the default) sells what is on a shelf, and up to `preorderCap` units of a partition's `incoming`
 * once the shelf is short; `made_to_order` needs no stock: each paid unit is a production request at
 * `productionWarehouseId`, ready `leadTimeDays` later.
 */
export const variantFulfillments = ['stock', 'made_to_order'] as const;
export type VariantFulfillment = (typeof variantFulfillments)[number];
export const leadTimeDaysMax = 365;

export const variantSchema = z
  .strictObject({
    sku: skuSchema,
    gtin: gtinSchema.optional(),
    options: variantOptionsSchema,
    price: minorUnitsSchema.optional(),
    fulfillment: z.enum(variantFulfillments).optional(),
    leadTimeDays: z.int().min(0).max(leadTimeDaysMax).optional(),
    productionWarehouseId: warehouseIdSchema.optional(),
    preorderCap: z.int().min(0).max(1_000_000).optional(),
  })
  .refine(
    (variant) =>
      variant.fulfillment !== 'made_to_order' ||
      (variant.leadTimeDays !== undefined && variant.productionWarehouseId !== undefined),
    { message: 'a made_to_order variant needs leadTimeDays and productionWarehouseId', path: ['fulfillment'] },
  )
  .refine((variant) => variant.fulfillment === 'made_to_order' || variant.productionWarehouseId === undefined, {
    message: 'productionWarehouseId is for made_to_order variants',
    path: ['productionWarehouseId'],
  });
export type Variant = z.infer<typeof variantSchema>;

export const catalogProductSchema = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(200),
  category: productCategorySchema,
  material: z.string().min(1).max(100).optional(),
  dimensions: dimensionsSchema.optional(),
  basePrice: minorUnitsSchema,
  currency: currencySchema,
  variants: z.array(variantSchema).max(200),
  archived: z.boolean(),
  version: z.int().min(1),
});
export type CatalogProduct = z.infer<typeof catalogProductSchema>;

export const warehouseKinds = ['warehouse', 'store', 'dropshipper', '3pl'] as const;
export const warehouseSchema = z.strictObject({
  id: warehouseIdSchema,
  name: z.string().min(1).max(200),
  kind: z.enum(warehouseKinds),
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
});
export type Warehouse = z.infer<typeof warehouseSchema>;
