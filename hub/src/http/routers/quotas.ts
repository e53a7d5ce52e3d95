import { quotaMoveSchema, quotaPolicySchema } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  getQuotaPolicy,
  grantQuota,
  listQuotas,
  rebalanceQuotas,
  requestQuotaReturn,
  setQuotaPolicy,
} from '../../quotas/service.ts';
import { warehouseIdParam } from '../params.ts';
import { protectedProcedure, requireWarehouse } from '../trpc.ts';

const tags = ['quotas'];
const policyView = quotaPolicySchema.extend({ warehouseId: z.string(), updatedAt: z.string().nullable() });
const moveView = z.object({
  id: z.string(),
  warehouseId: z.string(),
  sku: z.string(),
  kind: z.enum(['grant', 'return_request']),
  quantity: z.int(),
  status: z.string(),
});

/**
 * In-store quotas: the escrow of selling rights each edge may spend offline. Admins set a
 * policy (targets per SKU) that the hub's rebalancer follows, or grant and ask back by hand.
 */
export const quotasRouter = {
  getPolicy: protectedProcedure
    .meta({
      permission: 'warehouses.read',
      openapi: {
        method: 'GET',
        path: '/warehouses/{id}/quota-policy',
        tags,
        summary: "A warehouse's in-store quota targets",
      },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(policyView)
    .query(({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'warehouses.read', input.id);
      return getQuotaPolicy(ctx.deps.db, input.id);
    }),

  setPolicy: protectedProcedure
    .meta({
      permission: 'quotas.manage',
      audit: 'quota.policy.set',
      openapi: {
        method: 'PUT',
        path: '/warehouses/{id}/quota-policy',
        tags,
        summary: 'Set in-store quota targets (default and per SKU); the rebalancer moves rights toward them',
      },
    })
    .input(quotaPolicySchema.extend({ id: warehouseIdParam() }))
    .output(policyView)
    .mutation(({ ctx, input }) => {
      const { id, ...policy } = input;
      return setQuotaPolicy(ctx.deps.db, id, policy, ctx.principal.subject, ctx.deps.nowMs());
    }),

  list: protectedProcedure
    .meta({
      permission: 'inventory.read',
      openapi: {
        method: 'GET',
        path: '/warehouses/{id}/quotas',
        tags,
        summary: 'Selling rights out at the edge per SKU, with targets',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(
      z.object({
        items: z.array(
          z.object({
            warehouseId: z.string(),
            sku: z.string(),
            granted: z.int(),
            returnRequested: z.int(),
            target: z.int(),
          }),
        ),
      }),
    )
    .query(async ({ ctx, input }) => {
      requireWarehouse(ctx.principal, 'inventory.read', input.id);
      return { items: await listQuotas(ctx.deps.db, input.id, ctx.deps.nowMs()) };
    }),

  grant: protectedProcedure
    .meta({
      permission: 'quotas.manage',
      audit: 'quota.grant',
      openapi: {
        method: 'POST',
        path: '/warehouses/{id}/quotas/grant',
        tags,
        summary: 'Grant in-store selling rights now (409 insufficient_stock when online could not sell that many)',
        successDescription: 'Created',
      },
    })
    .input(quotaMoveSchema.extend({ id: warehouseIdParam() }))
    .output(moveView)
    .mutation(async ({ ctx, input }) => {
      const move = await grantQuota(
        ctx.deps.db,
        ctx.deps.dialect,
        { warehouseId: input.id, sku: input.sku, quantity: input.quantity },
        ctx.principal.subject,
        ctx.deps.nowMs(),
      );
      ctx.response.status = 201;
      return move;
    }),

  requestReturn: protectedProcedure
    .meta({
      permission: 'quotas.manage',
      audit: 'quota.return_request',
      openapi: {
        method: 'POST',
        path: '/warehouses/{id}/quotas/return',
        tags,
        summary: 'Ask the edge to give rights back (it returns what it has not sold)',
        successDescription: 'Accepted',
      },
    })
    .input(quotaMoveSchema.extend({ id: warehouseIdParam() }))
    .output(moveView)
    .mutation(async ({ ctx, input }) => {
      const move = await requestQuotaReturn(
        ctx.deps.db,
        { warehouseId: input.id, sku: input.sku, quantity: input.quantity },
        ctx.principal.subject,
        ctx.deps.nowMs(),
      );
      ctx.response.status = 202;
      return move;
    }),

  rebalance: protectedProcedure
    .meta({
      permission: 'quotas.manage',
      audit: 'quota.rebalance',
      openapi: {
        method: 'POST',
        path: '/warehouses/{id}/quotas/rebalance',
        tags,
        summary: 'Run one rebalancing pass for this warehouse now',
      },
    })
    .input(z.strictObject({ id: warehouseIdParam() }))
    .output(z.object({ granted: z.int(), returnsRequested: z.int() }))
    .mutation(({ ctx, input }) => rebalanceQuotas(ctx.deps.db, ctx.deps.dialect, ctx.deps.nowMs(), input.id)),
} satisfies TRPCRouterRecord;
