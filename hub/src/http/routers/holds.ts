import {
  configurationSchema,
  type ReserveRequest,
  type Role,
  releaseRequestSchema,
  reserveRequestSchema,
  seesEveryRecord,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { reserveSuppliedHold } from '../../holds/supply.ts';
import { getHold, releaseHold } from '../../holds/service.ts';
import { idempotencyHeaders, type ProtectedContext, protectedProcedure } from '../trpc.ts';

const tags = ['holds'];

const holdViewSchema = z.object({
  id: z.string(),
  status: z.enum(['active', 'released', 'expired', 'converted']),
  expiresAt: z.string(),
  createdAt: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.int(),
      warehouseId: z.string(),
      configuration: configurationSchema.optional(),
    }),
  ),
  promises: z
    .array(
      z.object({
        kind: z.enum(['preorder', 'production']),
        warehouseId: z.string(),
        sku: z.string(),
        quantity: z.int(),
        expectedAt: z.string(),
      }),
    )
    .optional()
    .describe('units promised against a purchase order (preorder) or made to order (production), not on a shelf'),
  expectedShipAt: z.string().optional().describe('when the promised units are expected, the latest of them'),
});

/** Admins act on any client's holds; everyone else only on their own (the policy lets no one else reserve). */
const owner = (principal: { role: Role; subject: string }) =>
  seesEveryRecord(principal.role) ? '*' : principal.subject;

/** The reserve procedure's body; http/reserve-route.ts serves the same path with it (after `guard`). */
export async function takeHold(ctx: ProtectedContext, input: ReserveRequest) {
  const hold = await reserveSuppliedHold(ctx.deps.db, ctx.deps.dialect, input, {
    clientId: ctx.principal.subject,
    nowMs: ctx.deps.nowMs(),
  });
  ctx.response.status = 201;
  return hold;
}

export const holdsRouter = {
  reserve: protectedProcedure
    .meta({
      permission: 'inventory.reserve',
      idempotent: true,
      openapi: {
        method: 'POST',
        path: '/inventory/reserve',
        tags,
        summary:
          'Hold stock for a checkout: all lines or none (409 insufficient_stock names the line); stops counting at expiresAt',
        successDescription: 'Created',
        requestHeaders: idempotencyHeaders,
      },
    })
    .input(reserveRequestSchema)
    .output(holdViewSchema)
    .mutation(({ ctx, input }) => takeHold(ctx, input)),

  release: protectedProcedure
    .meta({
      permission: 'inventory.reserve',
      openapi: {
        method: 'POST',
        path: '/inventory/release',
        tags,
        summary: 'Give a hold back at once (releasing twice answers the same)',
      },
    })
    .input(releaseRequestSchema)
    .output(holdViewSchema)
    .mutation(({ ctx, input }) =>
      releaseHold(ctx.deps.db, ctx.deps.dialect, input.holdId, owner(ctx.principal), ctx.deps.nowMs()),
    ),

  get: protectedProcedure
    .meta({
      permission: 'inventory.reserve',
      openapi: { method: 'GET', path: '/inventory/holds/{id}', tags, summary: 'One hold as it stands now' },
    })
    .input(z.strictObject({ id: z.string().min(1).max(64) }))
    .output(holdViewSchema)
    .query(({ ctx, input }) => getHold(ctx.deps.db, input.id, owner(ctx.principal), ctx.deps.nowMs())),
} satisfies TRPCRouterRecord;
