import { z } from 'zod';
import { warehouseSchema } from './schemas.ts';

/**
 * A warehouse as the hub's API creates it. Kinds `warehouse` and `store` run an edge that owns
 * their stock (docs/architecture.md, "Ownership"); `3pl` and `dropshipper` have none, so their stock is written through
 * the hub's API instead.
 */
export const warehouseCreateSchema = warehouseSchema.extend({
  address: z.string().min(1).max(500).optional(),
  capacity: z.int().min(0).max(100_000_000).optional(),
  contact: z.string().min(1).max(200).optional(),
});
export type WarehouseCreate = z.infer<typeof warehouseCreateSchema>;

export const edgeOwnedWarehouseKinds = ['warehouse', 'store'] as const;

export function warehouseHasEdge(kind: WarehouseCreate['kind']): boolean {
  return (edgeOwnedWarehouseKinds as readonly string[]).includes(kind);
}
