import {
  authorize,
  exchangeRequestSchema,
  exchangeStatuses,
  forbidden,
  limits,
  orderIdSchema,
  refundRecordSchema,
  returnCancelSchema,
  returnInTransitSchema,
  returnReasons,
  returnRejectSchema,
  returnRequestSchema,
  returnStatuses,
  returnsPolicySchema,
  shipsInAdvance,
  trackingTogether,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { createExchange, getExchange } from '../../returns/exchanges.ts';
import { recordRefund } from '../../returns/refunds.ts';
import {
  authorizeReturn,
  cancelReturn,
  getReturn,
  getReturnsPolicy,
  listReturns,
  markReturnInTransit,
  type ReturnScope,
  rejectReturn,
  requestReturn,
  setReturnsPolicy,
} from '../../returns/service.ts';
import { cursorParam, pageLimit, warehouseIdParam } from '../params.ts';
import { idempotencyHeaders, noStore, type ProtectedContext, protectedProcedure, requireWarehouse } from '../trpc.ts';

const tags = ['returns'];

const returnViewSchema = z.object({
  id: z.string(),
  number: z.string().describe('the order number and the return: DT-0000-002W-R1'),
  orderId: z.string(),
  orderNumber: z.string(),
  status: z.enum(returnStatuses),
  warehouseId: z.string().describe('the warehouse that receives it'),
  currency: z.string(),
  amount: z.int().describe('the value of the units asked back, at the unit prices paid (minor units)'),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.int(),
      reason: z.enum(returnReasons),
      unitPrice: z.int(),
      restocked: z.int(),
      damaged: z.int(),
      missing: z.int(),
    }),
  ),
  note: z.string().optional(),
  decisionNote: z.string().optional(),
  carrier: z.string().optional().describe('the carrier bringing it back, once in transit'),
  trackingNumber: z.string().optional(),
  exchangeId: z.string().optional().describe('the exchange this return belongs to'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const exchangeViewSchema = z.object({
  id: z.string(),
  status: z.enum(exchangeStatuses),
  returnId: z.string(),
  returnNumber: z.string(),
  orderId: z.string(),
  orderNumber: z.string(),
  replacementOrderId: z.string().describe('the order that sends the new units: held until released'),
  replacementOrderNumber: z.string(),
  advance: z.boolean().describe('the replacement ships before the return arrives'),
  lines: z.array(z.object({ sku: z.string(), quantity: z.int() })),
  dueAt: z.string().describe('when the exchange is canceled and its hold released if nothing arrived'),
  note: z.string().nullable(),
  updatedAt: z.string(),
});

const refundViewSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  returnId: z.string().nullable(),
  amount: z.int(),
  currency: z.string(),
  reference: z.string(),
  refundedTotal: z.int().describe('every refund of the order so far, this one included (≤ paid)'),
  paid: z.int(),
  createdAt: z.string(),
});

const returnId = () => z.uuid();

/** Admins and customer service see every return; a storefront its own orders'; staff scoped by warehouse below. */
const scopeOf = (ctx: ProtectedContext): ReturnScope =>
  ctx.principal.role === 'storefront' ? ctx.principal.subject : '*';

export const returnsRouter = {
  request: protectedProcedure
    .meta({
      permission: 'returns.request',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/orders/{id}/return',
        tags,
        summary:
          'Ask for a return of shipped units (409 exceeds_returnable, return_window_closed); authorized at once when policy allows',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...returnRequestSchema.shape }))
    .output(returnViewSchema)
    .mutation(async ({ ctx, input }) => {
      const { id, ...request } = input;
      const parsed = returnRequestSchema.parse(request);
      const view = await requestReturn(
        ctx.deps.db,
        ctx.deps.dialect,
        id,
        parsed,
        scopeOf(ctx),
        ctx.deps.returns,
        ctx.deps.nowMs(),
      );
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/returns/${view.id}`;
      noStore(ctx);
      return view;
    }),

  list: protectedProcedure
    .meta({
      permission: 'returns.read',
      openapi: {
        method: 'GET',
        path: '/returns',
        tags,
        summary: 'Returns, newest first, by status, order or warehouse (a storefront sees its own orders’)',
      },
    })
    .input(
      z.strictObject({
        status: z.enum(returnStatuses).optional(),
        orderId: z.uuid().optional(),
        warehouseId: warehouseIdParam().optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(returnViewSchema), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      if (input.warehouseId !== undefined) requireWarehouse(ctx.principal, 'returns.read', input.warehouseId);
      const staffWarehouses =
        ctx.principal.warehouses === '*' || ctx.principal.role === 'storefront' ? undefined : ctx.principal.warehouses;
      return listReturns(
        ctx.deps.db,
        {
          status: input.status,
          orderId: input.orderId,
          warehouseId: input.warehouseId,
          warehouses: staffWarehouses,
          cursor: input.cursor,
          limit: input.limit ?? limits.pageSizeDefault,
        },
        scopeOf(ctx),
      );
    }),

  get: protectedProcedure
    .meta({
      permission: 'returns.read',
      openapi: { method: 'GET', path: '/returns/{id}', tags, summary: 'One return: lines, status, what was received' },
    })
    .input(z.strictObject({ id: returnId() }))
    .output(returnViewSchema)
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      const view = await getReturn(ctx.deps.db, input.id, scopeOf(ctx));
      if (ctx.principal.warehouses !== '*' && ctx.principal.role !== 'storefront')
        requireWarehouse(ctx.principal, 'returns.read', view.warehouseId);
      return view;
    }),

  authorize: protectedProcedure
    .meta({
      permission: 'returns.manage',
      audit: 'return.authorize',
      openapi: {
        method: 'POST',
        path: '/returns/{id}/authorize',
        tags,
        summary: 'An agent authorizes a requested return: its warehouse is told to expect it',
      },
    })
    .input(z.strictObject({ id: returnId() }))
    .output(returnViewSchema)
    .mutation(({ ctx, input }) => authorizeReturn(ctx.deps.db, ctx.deps.dialect, input.id, ctx.deps.nowMs())),

  reject: protectedProcedure
    .meta({
      permission: 'returns.manage',
      audit: 'return.reject',
      openapi: { method: 'POST', path: '/returns/{id}/reject', tags, summary: 'An agent rejects a requested return' },
    })
    .input(z.strictObject({ id: returnId(), ...returnRejectSchema.shape }))
    .output(returnViewSchema)
    .mutation(({ ctx, input }) =>
      rejectReturn(ctx.deps.db, ctx.deps.dialect, input.id, input.reason, ctx.deps.nowMs()),
    ),

  cancel: protectedProcedure
    .meta({
      permission: 'returns.cancel',
      openapi: {
        method: 'POST',
        path: '/returns/{id}/cancel',
        tags,
        summary:
          'Withdraw a return before it is on its way (409 transition_not_allowed after); its warehouse stops expecting it',
      },
    })
    .input(z.strictObject({ id: returnId(), ...returnCancelSchema.shape }))
    .output(returnViewSchema)
    .mutation(({ ctx, input }) =>
      cancelReturn(ctx.deps.db, ctx.deps.dialect, input.id, input.reason, scopeOf(ctx), ctx.deps.nowMs()),
    ),

  inTransit: protectedProcedure
    .meta({
      permission: 'returns.track',
      openapi: {
        method: 'POST',
        path: '/returns/{id}/in-transit',
        tags,
        summary: "An authorized return's parcel is on its way back (a carrier scan or an agent), with its tracking",
      },
    })
    .input(z.strictObject({ id: returnId(), ...returnInTransitSchema.shape }).refine(...trackingTogether))
    .output(returnViewSchema)
    .mutation(({ ctx, input }) => {
      const { id, ...tracking } = input;
      return markReturnInTransit(ctx.deps.db, ctx.deps.dialect, id, tracking, ctx.principal, ctx.deps.nowMs());
    }),

  exchange: protectedProcedure
    .meta({
      permission: 'exchanges.request',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/orders/{id}/exchange',
        tags,
        summary:
          'Exchange shipped units: a return, and a replacement order held at once that ships when the return is received (or at once with advance exchange)',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...exchangeRequestSchema.shape }))
    .output(z.object({ exchange: exchangeViewSchema, return: returnViewSchema }))
    .mutation(async ({ ctx, input }) => {
      const { id, ...request } = input;
      const parsed = exchangeRequestSchema.parse(request);
      if (parsed.advance !== undefined) {
        // Choosing advance or not, per request, overrides the policy: the shared table says who may.
        const decision = authorize(ctx.principal, 'exchanges.advance');
        if (!decision.ok) throw forbidden(decision.message);
      }
      const created = await createExchange(
        ctx.deps.db,
        ctx.deps.dialect,
        id,
        parsed,
        scopeOf(ctx),
        ctx.deps.returns,
        shipsInAdvance(ctx.deps.returns, parsed.advance),
        ctx.deps.nowMs(),
      );
      ctx.response.status = 201;
      ctx.response.headers['location'] = `/api/v1/exchanges/${created.exchange.id}`;
      noStore(ctx);
      return created;
    }),

  getExchange: protectedProcedure
    .meta({
      permission: 'orders.read',
      openapi: {
        method: 'GET',
        path: '/exchanges/{id}',
        tags,
        summary: 'One exchange: its return, the replacement order and whether it was released',
      },
    })
    .input(z.strictObject({ id: z.uuid() }))
    .output(exchangeViewSchema)
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      return getExchange(ctx.deps.db, input.id, scopeOf(ctx));
    }),

  refund: protectedProcedure
    .meta({
      permission: 'refunds.record',
      audit: 'refund.record',
      openapi: {
        method: 'POST',
        path: '/orders/{id}/refunds',
        tags,
        summary:
          'Record a refund the payment system made: idempotent by reference (200 on a repeat); refunded ≤ paid (409 refund_exceeds_payment)',
        successDescription: 'Created (200 when this reference was already recorded)',
      },
    })
    .input(z.strictObject({ id: orderIdSchema, ...refundRecordSchema.shape }))
    .output(refundViewSchema)
    .mutation(async ({ ctx, input }) => {
      const { id, ...refund } = input;
      const result = await recordRefund(
        ctx.deps.db,
        ctx.deps.dialect,
        id,
        refund,
        scopeOf(ctx),
        ctx.principal.subject,
        ctx.deps.nowMs(),
      );
      ctx.response.status = result.created ? 201 : 200;
      noStore(ctx);
      return result.refund;
    }),

  policy: protectedProcedure
    .meta({
      permission: 'warehouses.read',
      openapi: {
        method: 'GET',
        path: '/warehouses/{id}/returns-policy',
        tags,
        summary: 'Whether the warehouse receives returns',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(z.object({ warehouseId: z.string(), acceptsReturns: z.boolean() }))
    .query(({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'warehouses.read', input.id);
      return getReturnsPolicy(ctx.deps.db, input.id);
    }),

  setPolicy: protectedProcedure
    .meta({
      permission: 'warehouses.write',
      audit: 'returns.policy.set',
      openapi: {
        method: 'PUT',
        path: '/warehouses/{id}/returns-policy',
        tags,
        summary: 'Set whether the warehouse receives returns (edge warehouses do by default)',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam(), ...returnsPolicySchema.shape }))
    .output(z.object({ warehouseId: z.string(), acceptsReturns: z.boolean() }))
    .mutation(({ ctx, input }) => setReturnsPolicy(ctx.deps.db, input.id, input.acceptsReturns)),
} satisfies TRPCRouterRecord;
