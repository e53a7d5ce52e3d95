import {
  configurationSchema,
  fulfillmentOrderCancelRefuseSchema,
  fulfillmentOrderRejectSchema,
  fulfillmentOrderShipSchema,
  fulfillmentOrderStatuses,
  limits,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  actOnFulfillmentOrder,
  type FulfillmentOrderAction,
  getFulfillmentOrder,
  listFulfillmentOrders,
} from '../../fulfillment/fulfillment-orders.ts';
import { cursorParam, idParam, pageLimit, warehouseIdParam } from '../params.ts';
import { idempotencyHeaders, noStore, type ProtectedContext, protectedProcedure, requireWarehouse } from '../trpc.ts';

/**
 * `/fulfillment-orders`: the Shopify fulfillment-service model for warehouses with no edge (3PL,
 * dropshipper). Scoped to the caller's warehouses (admins and customer service see every one; a 3PL
 * client its own; another warehouse's answers 404). The actions honour Idempotency-Key and answer
 * 409 `transition_not_allowed` (with the current status) where the shared table forbids the step.
 */

const tags = ['fulfillment orders'];
const cancelStates = ['requested', 'accepted', 'refused'] as const;

const addressView = z.object({
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string().optional(),
  postalCode: z.string(),
  country: z.string(),
  location: z.object({ lat: z.number(), lon: z.number() }).optional(),
});
const lineView = z.object({ sku: z.string(), quantity: z.int() });

export const fulfillmentOrderViewSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  orderNumber: z.string(),
  warehouseId: z.string(),
  status: z.enum(fulfillmentOrderStatuses),
  cancelState: z
    .enum(cancelStates)
    .nullable()
    .describe('requested: the order was canceled; accept (nothing shipped) or refuse (goods left)'),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.int().describe('units on this fulfillment order'),
      shipped: z.int(),
      toShip: z.int().describe('still committed here and not shipped'),
      configuration: configurationSchema
        .optional()
        .describe("the buyer's configuration of a configurable product (fabric, width…): make or pick it so"),
    }),
  ),
  shipTo: z.object({ name: z.string(), phone: z.string().optional(), address: addressView }),
  shipments: z.array(
    z.object({
      id: z.string(),
      carrier: z.string(),
      trackingNumber: z.string(),
      status: z.string(),
      lines: z.array(lineView),
      shippedAt: z.string(),
    }),
  ),
  createdAt: z.string(),
});

function act(ctx: ProtectedContext, id: string, action: FulfillmentOrderAction) {
  noStore(ctx);
  return actOnFulfillmentOrder(ctx.deps.db, ctx.deps.dialect, id, action, ctx.principal.warehouses, ctx.deps.nowMs());
}

/** One POST action on `/fulfillment-orders/{id}/…`: the fulfill permission, Idempotency-Key honoured. */
const action = (path: string, summary: string) =>
  protectedProcedure.meta({
    permission: 'fulfillment_orders.fulfill',
    idempotent: true,
    openapi: {
      method: 'POST',
      path: `/fulfillment-orders/{id}/${path}`,
      tags,
      summary,
      requestHeaders: idempotencyHeaders,
    },
  });

export const fulfillmentOrdersRouter = {
  list: protectedProcedure
    .meta({
      permission: 'fulfillment_orders.read',
      openapi: {
        method: 'GET',
        path: '/fulfillment-orders',
        tags,
        summary:
          "Fulfillment orders of the caller's warehouses, oldest first: lines (shipped, to ship), order number, ship-to, status, cancel state, shipments",
      },
    })
    .input(
      z.strictObject({
        status: z.enum(fulfillmentOrderStatuses).optional(),
        cancelState: z.enum(cancelStates).optional(),
        warehouseId: warehouseIdParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(fulfillmentOrderViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      if (input.warehouseId) requireWarehouse(ctx.principal, 'fulfillment_orders.read', input.warehouseId);
      noStore(ctx);
      return listFulfillmentOrders(
        ctx.deps.db,
        {
          limit: input.limit ?? limits.pageSizeDefault,
          ...(input.status ? { status: input.status } : {}),
          ...(input.cancelState ? { cancelState: input.cancelState } : {}),
          ...(input.warehouseId ? { warehouseId: input.warehouseId } : {}),
          ...(input.cursor ? { cursor: input.cursor } : {}),
        },
        ctx.principal.warehouses,
      );
    }),

  get: protectedProcedure
    .meta({
      permission: 'fulfillment_orders.read',
      openapi: {
        method: 'GET',
        path: '/fulfillment-orders/{id}',
        tags,
        summary: "One fulfillment order of the caller's warehouses (404 for another warehouse's)",
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(fulfillmentOrderViewSchema)
    .query(({ ctx, input }) => {
      noStore(ctx);
      return getFulfillmentOrder(ctx.deps.db, input.id, ctx.principal.warehouses);
    }),

  accept: action('accept', 'Accept the request: the warehouse will ship it (requested → accepted)')
    .input(z.strictObject({ id: idParam() }))
    .output(fulfillmentOrderViewSchema)
    .mutation(({ ctx, input }) => act(ctx, input.id, { type: 'accept' })),

  reject: action(
    'reject',
    'Reject the request: its units are re-routed to a warehouse that has them available, or backordered',
  )
    .input(z.strictObject({ id: idParam(), ...fulfillmentOrderRejectSchema.shape }))
    .output(fulfillmentOrderViewSchema)
    .mutation(({ ctx, input }) => act(ctx, input.id, { type: 'reject', reason: input.reason })),

  ship: action(
    'ship',
    'Units left with a carrier: the given lines, or everything still to ship; the stock leaves the partition and the order moves to (partially_)shipped',
  )
    .input(z.strictObject({ id: idParam(), ...fulfillmentOrderShipSchema.shape }))
    .output(fulfillmentOrderViewSchema)
    .mutation(({ ctx, input }) => {
      const { id, ...shipment } = input;
      return act(ctx, id, { type: 'ship', shipment });
    }),

  cancelAccept: action(
    'cancel-accept',
    'Accept the cancel request (nothing shipped): the commitment is released; the order cancels once every warehouse answered',
  )
    .input(z.strictObject({ id: idParam() }))
    .output(fulfillmentOrderViewSchema)
    .mutation(({ ctx, input }) => act(ctx, input.id, { type: 'cancel_accept' })),

  cancelRefuse: action(
    'cancel-refuse',
    'Refuse the cancel request because goods already shipped: physical fact wins, the order asks for a return',
  )
    .input(z.strictObject({ id: idParam(), ...fulfillmentOrderCancelRefuseSchema.shape }))
    .output(fulfillmentOrderViewSchema)
    .mutation(({ ctx, input }) => act(ctx, input.id, { type: 'cancel_refuse', reason: input.reason })),
} satisfies TRPCRouterRecord;
