import { limits, stockQuantities, emptyPartition, warehouseCreateSchema, warehouseKinds } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { deleteThirdPartyStock, warehouseInventory, writeThirdPartyStock } from '../../inventory/service.ts';
import { enrollEdge } from '../../identity/edge-enrollment.ts';
import { createWarehouse, getWarehouse, listWarehouses } from '../../warehouses/service.ts';
import { cursorParam, pageLimit, skuParam, warehouseIdParam } from '../params.ts';
import { idempotencyHeaders, noStore, protectedProcedure, requireWarehouse } from '../trpc.ts';

const tags = ['warehouses'];

export const warehouseViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(warehouseKinds),
  location: z.object({ lat: z.number(), lon: z.number() }),
  address: z.string().optional(),
  capacity: z.int().optional(),
  contact: z.string().optional(),
  hasEdge: z.boolean(),
  edgeEpoch: z.int(),
  createdAt: z.int(),
});

const quantityShape = Object.fromEntries(
  Object.keys(stockQuantities(emptyPartition())).map((key) => [key, z.int()]),
) as Record<keyof ReturnType<typeof stockQuantities>, z.ZodInt>;
export const quantitiesSchema = z.object(quantityShape);

const stockBody = {
  onHand: z.int().min(0).max(limits.partitionOnHandMax),
  damaged: z.int().min(0).max(limits.partitionOnHandMax).optional(),
  qualityControl: z.int().min(0).max(limits.partitionOnHandMax).optional(),
  safetyStock: z.int().min(0).max(limits.partitionOnHandMax).optional(),
  incoming: z.int().min(0).max(limits.partitionOnHandMax).optional(),
};
const partitionOutput = quantitiesSchema.extend({ sku: z.string(), warehouseId: z.string() });

export const warehousesRouter = {
  create: protectedProcedure
    .meta({
      permission: 'warehouses.write',
      audit: 'warehouse.create',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/warehouses',
        tags,
        summary: 'Create a warehouse',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(warehouseCreateSchema)
    .output(warehouseViewSchema)
    .mutation(async ({ ctx, input }) => {
      const warehouse = await createWarehouse(ctx.deps.db, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/warehouses/${warehouse.id}`;
      return warehouse;
    }),

  list: protectedProcedure
    .meta({
      permission: 'warehouses.read',
      openapi: { method: 'GET', path: '/warehouses', tags, summary: 'Warehouses the caller may see' },
    })
    .input(z.strictObject({ limit: pageLimit() }))
    .output(z.object({ items: z.array(warehouseViewSchema) }))
    .query(async ({ ctx, input }) => ({
      items: await listWarehouses(ctx.deps.db, ctx.principal.warehouses, input.limit ?? limits.pageSizeMax),
    })),

  get: protectedProcedure
    .meta({
      permission: 'warehouses.read',
      openapi: { method: 'GET', path: '/warehouses/{id}', tags, summary: 'One warehouse' },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(warehouseViewSchema)
    .query(({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'warehouses.read', input.id);
      return getWarehouse(ctx.deps.db, input.id);
    }),

  enrollEdge: protectedProcedure
    .meta({
      permission: 'edges.enroll',
      audit: 'edge.enroll',
      openapi: {
        method: 'POST',
        path: '/warehouses/{id}/edges',
        tags,
        summary: 'Enroll the edge of a warehouse: returns its client credentials once; re-enrolling bumps the epoch',
        successDescription: 'Created',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(z.object({ clientId: z.string(), clientSecret: z.string(), warehouseId: z.string(), epoch: z.int() }))
    .mutation(async ({ ctx, input }) => {
      const enrollment = await enrollEdge(ctx.deps.db, input.id, ctx.deps.nowMs());
      ctx.deps.authenticator.forget();
      ctx.response.status = 201;
      noStore(ctx);
      return enrollment;
    }),

  inventory: protectedProcedure
    .meta({
      permission: 'inventory.read',
      openapi: { method: 'GET', path: '/warehouses/{id}/inventory', tags, summary: "One warehouse's stock by SKU" },
    })
    .input(z.strictObject({ id: warehouseIdParam(), cursor: cursorParam(), limit: pageLimit() }))
    .output(
      z.object({
        warehouseId: z.string(),
        items: z.array(quantitiesSchema.extend({ sku: z.string() })),
        nextCursor: z.string().nullable(),
      }),
    )
    .query(({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'inventory.read', input.id);
      return warehouseInventory(
        ctx.deps.db,
        input.id,
        input.cursor,
        input.limit ?? limits.pageSizeDefault,
        ctx.deps.nowMs(),
      );
    }),

  createStock: protectedProcedure
    .meta({
      permission: 'inventory.write',
      idempotent: true,
      openapi: {
        requestHeaders: idempotencyHeaders,
        method: 'POST',
        path: '/warehouses/{id}/inventory/{sku}',
        tags,
        summary: 'Create the stock of a SKU at a 3PL or dropshipper (409 owner_is_edge for an edge-owned warehouse)',
        successDescription: 'Created',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam(), sku: skuParam(), ...stockBody }))
    .output(partitionOutput)
    .mutation(async ({ ctx, input }) => {
      const { id, sku, ...stock } = input;
      requireWarehouse(ctx.principal, 'inventory.write', id);
      const partition = await writeThirdPartyStock(ctx.deps.db, id, sku, stock, 'create', ctx.deps.nowMs());
      ctx.response.status = 201;
      return partition;
    }),

  replaceStock: protectedProcedure
    .meta({
      permission: 'inventory.write',
      openapi: {
        method: 'PUT',
        path: '/warehouses/{id}/inventory/{sku}',
        tags,
        summary: 'Set the stock of a SKU at a 3PL or dropshipper',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam(), sku: skuParam(), ...stockBody }))
    .output(partitionOutput)
    .mutation(({ ctx, input }) => {
      const { id, sku, ...stock } = input;
      requireWarehouse(ctx.principal, 'inventory.write', id);
      return writeThirdPartyStock(ctx.deps.db, id, sku, stock, 'replace', ctx.deps.nowMs());
    }),

  deleteStock: protectedProcedure
    .meta({
      permission: 'inventory.write',
      openapi: {
        method: 'DELETE',
        path: '/warehouses/{id}/inventory/{sku}',
        tags,
        summary: 'Remove the stock of a SKU at a 3PL or dropshipper',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam(), sku: skuParam() }))
    .output(z.object({ warehouseId: z.string(), sku: z.string(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'inventory.write', input.id);
      await deleteThirdPartyStock(ctx.deps.db, input.id, input.sku);
      return { warehouseId: input.id, sku: input.sku, deleted: true as const };
    }),
} satisfies TRPCRouterRecord;
