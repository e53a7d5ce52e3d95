import { limits, productionStatuses, purchaseOrderCreateSchema, purchaseOrderStatuses } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  cancelPurchaseOrder,
  createPurchaseOrder,
  getPurchaseOrder,
  listProduction,
  listPurchaseOrders,
} from '../../supply/purchase-orders.ts';
import { cursorParam, idParam, pageLimit, warehouseIdParam } from '../params.ts';
import { idempotencyHeaders, noStore, protectedProcedure } from '../trpc.ts';

const tags = ['supply'];

const purchaseOrderViewSchema = z.object({
  id: z.string(),
  warehouseId: z.string(),
  supplier: z.string().nullable(),
  status: z.enum(purchaseOrderStatuses),
  expectedAt: z.string().describe('when the goods are expected: the ship date of pre-orders against them'),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.int(),
      received: z.int().describe('units the warehouse received against this line'),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const productionViewSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  warehouseId: z.string().describe('the producing warehouse, whose edge receives the finished units'),
  sku: z.string(),
  quantity: z.int(),
  received: z.int(),
  status: z.enum(productionStatuses),
  configuration: z.unknown().optional(),
  leadTimeDays: z.int(),
  dueAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/**
 * Supply (docs/catalog.md, "Pre-orders and made-to-order"): purchase orders raise a partition's
 * `incoming`, which pre-orders may be promised against up to the SKU's `preorderCap`; production
 * requests are what paid made-to-order lines ask of their producing warehouse. Both are received at
 * that warehouse's edge.
 */
export const supplyRouter = {
  createPurchaseOrder: protectedProcedure
    .meta({
      permission: 'supply.manage',
      audit: 'purchase_order.create',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/purchase-orders',
        tags,
        summary: "Goods expected at a warehouse: raises each line's incoming and is sent to the warehouse's edge",
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(purchaseOrderCreateSchema)
    .output(purchaseOrderViewSchema)
    .mutation(async ({ ctx, input }) => {
      const view = await createPurchaseOrder(ctx.deps.db, ctx.deps.dialect, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/purchase-orders/${view.id}`;
      noStore(ctx);
      return view;
    }),

  listPurchaseOrders: protectedProcedure
    .meta({
      permission: 'supply.read',
      openapi: {
        method: 'GET',
        path: '/purchase-orders',
        tags,
        summary: 'Purchase orders, newest first, by status or warehouse',
      },
    })
    .input(
      z.strictObject({
        status: z.enum(purchaseOrderStatuses).optional(),
        warehouseId: warehouseIdParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(purchaseOrderViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      noStore(ctx);
      return listPurchaseOrders(ctx.deps.db, {
        ...(input.status ? { status: input.status } : {}),
        ...(input.warehouseId ? { warehouseId: input.warehouseId } : {}),
        ...(input.cursor ? { cursor: input.cursor } : {}),
        limit: input.limit ?? limits.pageSizeDefault,
      });
    }),

  getPurchaseOrder: protectedProcedure
    .meta({
      permission: 'supply.read',
      openapi: {
        method: 'GET',
        path: '/purchase-orders/{id}',
        tags,
        summary: 'One purchase order with what was received',
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(purchaseOrderViewSchema)
    .query(({ ctx, input }) => {
      noStore(ctx);
      return getPurchaseOrder(ctx.deps.db, input.id);
    }),

  cancelPurchaseOrder: protectedProcedure
    .meta({
      permission: 'supply.manage',
      audit: 'purchase_order.cancel',
      openapi: {
        method: 'POST',
        path: '/purchase-orders/{id}/cancel',
        tags,
        summary: 'Cancel what was not received (409 preorders_depend_on_it while pre-orders need it)',
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(purchaseOrderViewSchema)
    .mutation(({ ctx, input }) => {
      noStore(ctx);
      return cancelPurchaseOrder(ctx.deps.db, ctx.deps.dialect, input.id, ctx.deps.nowMs());
    }),

  listProduction: protectedProcedure
    .meta({
      permission: 'supply.read',
      openapi: {
        method: 'GET',
        path: '/production',
        tags,
        summary: 'Production requests of paid made-to-order lines, newest first, by status or warehouse',
      },
    })
    .input(
      z.strictObject({
        status: z.enum(productionStatuses).optional(),
        warehouseId: warehouseIdParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(productionViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      noStore(ctx);
      return listProduction(ctx.deps.db, {
        ...(input.status ? { status: input.status } : {}),
        ...(input.warehouseId ? { warehouseId: input.warehouseId } : {}),
        ...(input.cursor ? { cursor: input.cursor } : {}),
        limit: input.limit ?? limits.pageSizeDefault,
      });
    }),
} satisfies TRPCRouterRecord;
