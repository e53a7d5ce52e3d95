import { z } from 'zod';
import * as limits from '../../limits.ts';
import { configurableOptionsSchema } from './configuration.ts';
import { currencySchema, dimensionsSchema, minorUnitsSchema, productCategorySchema, variantSchema } from './schemas.ts';

/**
 * What the hub's catalog API accepts and returns. Inputs are strict: an unknown field is a 400
 * that names it, so a typo never silently drops data.
 */

/** A customization a shopper chooses, e.g. `{name: "fabric", values: ["boucle", "linen"]}`. */
export const productOptionSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[a-z][a-zA-Z0-9_]*$/, 'option name: a lower-case letter, then letters, digits, _'),
  values: z.array(z.string().min(1).max(64)).min(1).max(limits.productOptionValuesMax),
});
export type ProductOption = z.infer<typeof productOptionSchema>;

const variantsSchema = z
  .array(variantSchema)
  .min(1)
  .max(limits.productVariantsMax)
  .refine(
    (variants) => new Set(variants.map((variant) => variant.sku)).size === variants.length,
    'variant SKUs must not repeat',
  );

const productFields = {
  name: z.string().trim().min(1).max(limits.productNameLengthMax),
  category: productCategorySchema,
  material: z.string().trim().min(1).max(100).optional(),
  description: z.string().max(limits.productDescriptionLengthMax).optional(),
  basePrice: minorUnitsSchema,
  currency: currencySchema,
  dimensions: dimensionsSchema.optional(),
  options: z.array(productOptionSchema).max(limits.productOptionsMax).optional(),
  /** What a buyer configures per line (fabric, width…): see domain/catalog/configuration.ts. */
  configurableOptions: configurableOptionsSchema.optional(),
};

export const productCreateSchema = z.strictObject({ ...productFields, variants: variantsSchema });
export type ProductCreate = z.infer<typeof productCreateSchema>;

/**
 * A full replacement of the product's fields. `variants` omitted keeps the current ones;
 * `archived: true` takes the product out of listings (products are archived, never deleted).
 */
export const productUpdateSchema = z.strictObject({
  ...productFields,
  variants: variantsSchema.optional(),
  archived: z.boolean().optional(),
});
export type ProductUpdate = z.infer<typeof productUpdateSchema>;

export const productSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  category: productCategorySchema,
  material: z.string().optional(),
  description: z.string().optional(),
  basePrice: z.int(),
  currency: z.string(),
  dimensions: dimensionsSchema.optional(),
  options: z.array(productOptionSchema).optional(),
  configurableOptions: configurableOptionsSchema.optional(),
  variants: z.array(variantSchema),
  archived: z.boolean(),
  version: z.int().min(1),
  createdAt: z.int(),
  updatedAt: z.int(),
});
export type Product = z.infer<typeof productSchema>;
