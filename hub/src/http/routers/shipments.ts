import {
  carrierSchema,
  orderIdSchema,
  quantitySchema,
  seesEveryRecord,
  skuSchema,
  trackingEventInputSchema,
  trackingNumberSchema,
  trackingStatuses,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { createManualShipment } from '../../shipments/manual.ts';
import { getOrderTracking, listOrderShipments, recordTrackingEvent } from '../../shipments/tracking.ts';
import { idParam } from '../params.ts';
import { type ProtectedContext, idempotencyRequiredHeaders, noStore, protectedProcedure } from '../trpc.ts';

const tags = ['shipments'];

const trackingEventView = z.object({
  carrierEventId: z.string(),
  status: z.enum(trackingStatuses),
  occurredAt: z.string(),
  location: z.string().optional(),
  estimatedDeliveryAt: z.string().optional(),
  description: z.string().optional(),
});

export const shipmentViewSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  fulfillmentId: z.string(),
  warehouseId: z.string(),
  carrier: z.string(),
  trackingNumber: z.string(),
  trackingUrl: z.string().optional().describe("the carrier's own tracking page, for carriers the hub knows"),
  status: z.enum(trackingStatuses),
  estimatedDeliveryAt: z.string().optional(),
  deliveredAt: z.string().optional(),
  shippedAt: z.string(),
  events: z.array(trackingEventView),
});

/** Admins and customer service read every order's shipments; a storefront its own orders'. */
const scopeOf = (ctx: ProtectedContext) => (seesEveryRecord(ctx.principal.role) ? '*' : ctx.principal.subject);

const actorOf = (ctx: ProtectedContext) => ({
  role: ctx.principal.role,
  subject: ctx.principal.subject,
  warehouses: ctx.principal.warehouses,
});

export const shipmentsRouter = {
  create: protectedProcedure
    .meta({
      permission: 'shipments.create',
      // No natural key: a retried request would record the shipment twice.
      idempotent: 'required',
      openapi: {
        method: 'POST',
        path: '/shipments',
        tags,
        summary: 'Record a shipment made outside an edge or 3PL flow, so it is tracked (moves no stock)',
        successDescription: 'Created',
        requestHeaders: idempotencyRequiredHeaders,
      },
    })
    .input(
      z.strictObject({
        orderId: orderIdSchema,
        fulfillmentId: z.string().min(1).max(64).optional(),
        carrier: carrierSchema,
        trackingNumber: trackingNumberSchema,
        lines: z
          .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema }))
          .min(1)
          .max(100)
          .optional(),
      }),
    )
    .output(shipmentViewSchema)
    .mutation(async ({ ctx, input }) => {
      const id = await createManualShipment(ctx.deps.db, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      const shipments = await listOrderShipments(ctx.deps.db, input.orderId, '*');
      const created = shipments.find((shipment) => shipment.id === id);
      if (!created) throw new Error('the shipment just recorded is missing');
      return created;
    }),

  ofOrder: protectedProcedure
    .meta({
      permission: 'shipments.read',
      openapi: {
        method: 'GET',
        path: '/shipments/{orderId}',
        tags,
        summary: "An order's shipments, each with its carrier timeline",
      },
    })
    .input(z.strictObject({ orderId: orderIdSchema }))
    .output(z.object({ items: z.array(shipmentViewSchema) }))
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      return { items: await listOrderShipments(ctx.deps.db, input.orderId, scopeOf(ctx)) };
    }),

  track: protectedProcedure
    .meta({
      permission: 'shipments.track',
      openapi: {
        method: 'POST',
        path: '/shipments/{id}/events',
        tags,
        summary:
          'A carrier scan: idempotent by carrierEventId (201 new, 200 repeat); placed by occurredAt; delivered is final',
        successDescription: 'Created (200 when this carrierEventId was already recorded)',
      },
    })
    .input(z.strictObject({ id: idParam(), ...trackingEventInputSchema.shape }))
    .output(shipmentViewSchema)
    .mutation(async ({ ctx, input }) => {
      const { id, ...event } = input;
      const result = await recordTrackingEvent(ctx.deps.db, ctx.deps.dialect, id, event, actorOf(ctx), {
        source: ctx.principal.subject,
        nowMs: ctx.deps.nowMs(),
      });
      ctx.response.status = result.created ? 201 : 200;
      return result.shipment;
    }),

  orderTracking: protectedProcedure
    .meta({
      permission: 'shipments.read',
      openapi: {
        method: 'GET',
        path: '/orders/{id}/tracking',
        tags,
        summary: 'Where an order is: status, estimated delivery, delivery time, each shipment and its events',
      },
    })
    .input(z.strictObject({ id: orderIdSchema }))
    .output(
      z.object({
        orderId: z.string(),
        orderNumber: z.string(),
        status: z.string(),
        estimatedDeliveryAt: z.string().optional(),
        deliveredAt: z.string().optional(),
        shipments: z.array(shipmentViewSchema),
      }),
    )
    .query(({ ctx, input }) => {
      noStore(ctx);
      return getOrderTracking(ctx.deps.db, input.id, scopeOf(ctx), ctx.deps.nowMs());
    }),
} satisfies TRPCRouterRecord;
