import { limits } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { inventoryEventTypes, listInventoryEvents } from '../../fulfillment/shortage.ts';
import { listInventory, skuInventory } from '../../inventory/service.ts';
import { cursorParam, pageLimit, skuParam, warehouseIdParam } from '../params.ts';
import { protectedProcedure, requireWarehouse } from '../trpc.ts';
import { quantitiesSchema } from './warehouses.ts';

const tags = ['inventory'];

const skuInventorySchema = quantitiesSchema.extend({
  sku: z.string(),
  cataloged: z
    .boolean()
    .describe('false: stock an edge recorded of a SKU the catalog does not list; counted, never sold until listed'),
  warehouses: z.array(quantitiesSchema.extend({ warehouseId: z.string() })),
});

export const inventoryRouter = {
  list: protectedProcedure
    .meta({
      permission: 'inventory.read',
      openapi: {
        method: 'GET',
        path: '/inventory',
        tags,
        summary: 'Stock per SKU across the warehouses the caller may see; filter by warehouse or SKU prefix',
      },
    })
    .input(
      z.strictObject({
        warehouseId: warehouseIdParam().optional(),
        sku: skuParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(skuInventorySchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      if (input.warehouseId) requireWarehouse(ctx.principal, 'inventory.read', input.warehouseId);
      return listInventory(
        ctx.deps.db,
        {
          limit: input.limit ?? limits.pageSizeDefault,
          warehouseId: input.warehouseId,
          skuPrefix: input.sku,
          cursor: input.cursor,
        },
        ctx.principal.warehouses,
        ctx.deps.nowMs(),
      );
    }),

  // Not under /inventory/: a SKU may be named `events`, and `GET /inventory/{sku}` must read it.
  events: protectedProcedure
    .meta({
      permission: 'inventory.read',
      openapi: {
        method: 'GET',
        path: '/inventory-events',
        tags,
        summary:
          "The hub's inventory events (inventory.shortage, …), oldest first, of the warehouses the caller may see; each payload is self-contained",
      },
    })
    .input(
      z.strictObject({
        type: z.enum(inventoryEventTypes).optional(),
        warehouseId: warehouseIdParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(
      z.object({
        items: z.array(
          z.object({
            id: z.string(),
            type: z.string(),
            warehouseId: z.string(),
            sku: z.string(),
            payload: z.record(z.string(), z.unknown()),
            createdAt: z.string(),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
    )
    .query(({ ctx, input }) => {
      if (input.warehouseId) requireWarehouse(ctx.principal, 'inventory.read', input.warehouseId);
      return listInventoryEvents(
        ctx.deps.db,
        {
          limit: input.limit ?? limits.pageSizeDefault,
          ...(input.type ? { type: input.type } : {}),
          ...(input.warehouseId ? { warehouseId: input.warehouseId } : {}),
          ...(input.cursor ? { cursor: input.cursor } : {}),
        },
        ctx.principal.warehouses,
      );
    }),

  get: protectedProcedure
    .meta({
      permission: 'inventory.read',
      openapi: {
        method: 'GET',
        path: '/inventory/{sku}',
        tags,
        summary:
          'One SKU: all quantities summed and per warehouse. A catalog SKU with no stock answers zeros; an unknown SKU 404',
      },
    })
    .input(z.strictObject({ sku: skuParam() }))
    .output(skuInventorySchema)
    .query(({ ctx, input }) => skuInventory(ctx.deps.db, input.sku, ctx.principal.warehouses, ctx.deps.nowMs())),
} satisfies TRPCRouterRecord;
