import {
  allocationStatuses,
  badRequest,
  configurationSchema,
  fulfillmentOrderStatuses,
  limits,
  orderCancelSchema,
  orderCreateSchema,
  orderIdSchema,
  orderPatchSchema,
  orderPaymentSchema,
  orderStatuses,
  orderStatusUpdateSchema,
  priceBreakdownSchema,
  type Role,
  seesEveryRecord,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { listOrders, resolveOrderId } from '../../orders/lookup.ts';
import {
  cancelOrder,
  createOrder,
  getOrder,
  type OrderScope,
  type OrderView,
  patchOrder,
  payOrder,
  setOrderStatus,
} from '../../orders/service.ts';
import { issuesToFields } from '../errors.ts';
import { cursorParam, pageLimit, warehouseIdParam } from '../params.ts';
import { idempotencyHeaders, noStore, type ProtectedContext, protectedProcedure } from '../trpc.ts';

const tags = ['orders'];

const addressView = z.object({
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string().optional(),
  postalCode: z.string(),
  country: z.string(),
  location: z.object({ lat: z.number(), lon: z.number() }).optional(),
});
const orderViewSchema = z.object({
  id: z.string(),
  number: z.string(),
  status: z.enum(orderStatuses),
  holdId: z.string(),
  customer: z.object({ email: z.string(), name: z.string(), phone: z.string().optional() }),
  shippingAddress: addressView,
  billingAddress: addressView.optional(),
  note: z.string().optional(),
  paymentReference: z.string().optional(),
  currency: z.string(),
  total: z.int(),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.int(),
      unitPrice: z.int(),
      configuration: configurationSchema.optional(),
      priceBreakdown: priceBreakdownSchema.optional(),
    }),
  ),
  allocations: z.array(
    z.object({
      id: z.string(),
      warehouseId: z.string(),
      sku: z.string(),
      quantity: z.int(),
      status: z
        .enum(allocationStatuses)
        .describe(
          'rerouted: released by this warehouse after a shortage and committed at another (a newer row); backordered: no warehouse had them',
        ),
      fulfillmentId: z.string(),
    }),
  ),
  fulfillments: z.array(
    z.object({
      id: z.string(),
      warehouseId: z.string(),
      status: z.enum(fulfillmentOrderStatuses),
      cancelState: z.enum(['requested', 'accepted', 'refused']).nullable(),
      packages: z.unknown().optional(),
    }),
  ),
  shipments: z.array(
    z.object({
      id: z.string(),
      fulfillmentId: z.string(),
      warehouseId: z.string(),
      carrier: z.string(),
      trackingNumber: z.string(),
      status: z.string(),
      shippedAt: z.string(),
    }),
  ),
  history: z.array(
    z.object({
      event: z.string(),
      from: z.enum(orderStatuses).nullable(),
      to: z.enum(orderStatuses),
      at: z.string(),
      note: z.string().optional(),
    }),
  ),
  trackingUrl: z
    .string()
    .optional()
    .describe("the customer's tracking page: unguessable, shows no personal data; put it in the confirmation"),
  supply: z
    .object({
      promises: z.array(
        z.object({
          kind: z.enum(['preorder', 'production']),
          warehouseId: z.string(),
          sku: z.string(),
          quantity: z.int(),
          remaining: z.int().describe('units still waiting for supply'),
          status: z.enum(['held', 'waiting', 'supplied']),
          expectedAt: z.string(),
        }),
      ),
      expectedShipAt: z.string().optional(),
    })
    .optional()
    .describe('lines promised against a purchase order (pre-order) or made to order, with when they are expected'),
  expectedShipAt: z
    .string()
    .optional()
    .describe('while a pre-order or made-to-order line waits: when it is expected to ship'),
  expiresAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const orderSummarySchema = z.object({
  id: z.string(),
  number: z.string(),
  status: z.enum(orderStatuses),
  customer: z.object({ email: z.string(), name: z.string() }),
  currency: z.string(),
  total: z.int(),
  itemCount: z.int(),
  warehouses: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The order as clients see it: the tracking page as an absolute URL on the hub's public address. */
function present(ctx: ProtectedContext, view: OrderView) {
  const { trackingPath, ...rest } = view;
  return { ...rest, ...(trackingPath ? { trackingUrl: new URL(trackingPath, ctx.deps.publicUrl).toString() } : {}) };
}

/** Admins and customer service see every order; a storefront client sees the orders it placed. */
const scopeOf = (principal: { role: Role; subject: string }): OrderScope =>
  seesEveryRecord(principal.role) ? '*' : principal.subject;

export const ordersRouter = {
  create: protectedProcedure
    .meta({
      permission: 'orders.create',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/orders',
        tags,
        summary: 'Place an order over a checkout hold (holdId) or lines the hub holds now; starts pending_payment',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(orderCreateSchema)
    .output(orderViewSchema)
    .mutation(async ({ ctx, input }) => {
      const order = await createOrder(ctx.deps.db, ctx.deps.dialect, input, {
        clientId: ctx.principal.subject,
        nowMs: ctx.deps.nowMs(),
      });
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/orders/${order.id}`;
      noStore(ctx);
      return present(ctx, order);
    }),

  list: protectedProcedure
    .meta({
      permission: 'orders.read',
      openapi: {
        method: 'GET',
        path: '/orders',
        tags,
        summary:
          'Find orders, newest first: by status, warehouse, creation time or customer e-mail (customer service and admins see all; a storefront its own)',
      },
    })
    .input(
      z.strictObject({
        status: z.enum(orderStatuses).optional(),
        warehouseId: warehouseIdParam().optional(),
        createdFrom: z.iso.datetime({ offset: true }).optional().describe('inclusive, ISO 8601'),
        createdTo: z.iso.datetime({ offset: true }).optional().describe('exclusive, ISO 8601'),
        email: z.string().min(3).max(limits.emailLengthMax).optional().describe('the customer e-mail, any case'),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(orderSummarySchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => {
      noStore(ctx);
      return listOrders(
        ctx.deps.db,
        {
          status: input.status,
          warehouseId: input.warehouseId,
          createdFromMs: input.createdFrom === undefined ? undefined : Date.parse(input.createdFrom),
          createdToMs: input.createdTo === undefined ? undefined : Date.parse(input.createdTo),
          email: input.email,
          cursor: input.cursor,
          limit: input.limit ?? limits.pageSizeDefault,
        },
        scopeOf(ctx.principal),
        ctx.deps.nowMs(),
      );
    }),

  get: protectedProcedure
    .meta({
      permission: 'orders.read',
      openapi: {
        method: 'GET',
        path: '/orders/{id}',
        tags,
        summary:
          'One order by id or order number (DT-0000-002W): lines, allocations, fulfillment per warehouse, history',
      },
    })
    .input(z.strictObject({ id: z.string().min(1).max(64).describe('the order id (UUID) or its number') }))
    .output(orderViewSchema)
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      const id = await resolveOrderId(ctx.deps.db, input.id);
      return present(ctx, await getOrder(ctx.deps.db, id, scopeOf(ctx.principal), ctx.deps.nowMs()));
    }),

  pay: protectedProcedure
    .meta({
      permission: 'orders.pay',
      openapi: {
        method: 'POST',
        path: '/orders/{id}/payment',
        tags,
        summary: 'Confirm payment: the hold becomes allocations and fulfillment orders go to the warehouses',
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...orderPaymentSchema.shape }))
    .output(orderViewSchema)
    .mutation(async ({ ctx, input }) =>
      present(
        ctx,
        await payOrder(
          ctx.deps.db,
          ctx.deps.dialect,
          input.id,
          input.reference,
          scopeOf(ctx.principal),
          ctx.deps.nowMs(),
        ),
      ),
    ),

  cancel: protectedProcedure
    .meta({
      permission: 'orders.cancel',
      openapi: {
        method: 'POST',
        path: '/orders/{id}/cancel',
        tags,
        summary: 'Cancel: unpaid at once; paid orders ask their warehouses (cancel_requested)',
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...orderCancelSchema.shape }))
    .output(orderViewSchema)
    .mutation(async ({ ctx, input }) =>
      present(
        ctx,
        await cancelOrder(
          ctx.deps.db,
          ctx.deps.dialect,
          input.id,
          input.reason,
          scopeOf(ctx.principal),
          ctx.deps.nowMs(),
        ),
      ),
    ),

  update: protectedProcedure
    .meta({
      permission: 'orders.update',
      openapi: {
        method: 'PATCH',
        path: '/orders/{id}',
        tags,
        summary: 'Change whitelisted fields (addresses, customer name or phone, note) while the status allows',
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...orderPatchSchema.shape }))
    .output(orderViewSchema)
    .mutation(async ({ ctx, input }) => {
      const { id, ...fields } = input;
      const patch = orderPatchSchema.safeParse(fields);
      if (!patch.success)
        throw badRequest('invalid_request', 'give at least one field to change', {
          issues: issuesToFields(patch.error.issues),
        });
      return present(
        ctx,
        await patchOrder(ctx.deps.db, ctx.deps.dialect, id, patch.data, scopeOf(ctx.principal), ctx.deps.nowMs()),
      );
    }),

  setStatus: protectedProcedure
    .meta({
      permission: 'orders.manage',
      audit: 'order.status.override',
      openapi: {
        method: 'PUT',
        path: '/orders/{id}/status',
        tags,
        summary:
          'Staff transitions the hub owns (delivered, return_requested, returned); 409 with the current status otherwise',
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...orderStatusUpdateSchema.shape }))
    .output(orderViewSchema)
    .mutation(async ({ ctx, input }) =>
      present(
        ctx,
        await setOrderStatus(ctx.deps.db, ctx.deps.dialect, input.id, input.status, input.reason, ctx.deps.nowMs()),
      ),
    ),
} satisfies TRPCRouterRecord;
