import { limits } from '@dovetail/shared';
import { z } from 'zod';

/**
 * Fresh schemas for query and path parameters. trpc-to-openapi switches `coerce` on for the fields
 * of GET inputs by mutating the schema, so these are built anew per use and never shared with
 * body schemas (a shared leaf would start coercing request bodies too).
 */
export const pageLimit = () => z.int().min(1).max(limits.pageSizeMax).optional();
export const cursorParam = () => z.string().min(1).max(200).optional();
export const idParam = () => z.string().min(1).max(64);
export const skuParam = () =>
  z
    .string()
    .min(1)
    .max(limits.skuLengthMax)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/, 'SKU: letters, digits and . _ - / only');
export const warehouseIdParam = () =>
  z
    .string()
    .min(1)
    .max(limits.warehouseIdLengthMax)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'warehouse id: letters, digits, _ and - only');
