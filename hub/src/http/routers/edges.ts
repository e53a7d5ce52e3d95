import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { listEdges } from '../../warehouses/edges.ts';
import { protectedProcedure } from '../trpc.ts';

const edgeViewSchema = z.object({
  warehouseId: z.string(),
  edgeId: z.string(),
  epoch: z.int(),
  connected: z.boolean(),
  connectedAt: z.int().nullable(),
  lastSeenAt: z.int().nullable(),
  upstream: z.object({
    appliedSeq: z.int(),
    lastSeq: z.int(),
    lagEvents: z.int(),
    lagSeconds: z.int().nullable(),
    lastAppliedAt: z.int().nullable(),
  }),
  cursors: z.record(z.string(), z.int()),
  rejected: z.int(),
});

export const edgesRouter = {
  list: protectedProcedure
    .meta({
      permission: 'edges.read',
      openapi: {
        method: 'GET',
        path: '/edges',
        tags: ['edges'],
        summary: 'Warehouse edges: connected, last seen, upstream lag in events and seconds',
      },
    })
    .input(z.strictObject({}))
    .output(z.object({ items: z.array(edgeViewSchema) }))
    .query(async ({ ctx }) => ({ items: await listEdges(ctx.deps.db, ctx.principal.warehouses, ctx.deps.nowMs()) })),
} satisfies TRPCRouterRecord;
