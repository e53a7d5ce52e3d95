import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { listFeedback } from '../../notifications/feedback.ts';
import { cursorParam, pageLimit, warehouseIdParam } from '../params.ts';
import { noStore, protectedProcedure } from '../trpc.ts';

const distribution = z
  .object({ '1': z.int(), '2': z.int(), '3': z.int(), '4': z.int(), '5': z.int() })
  .describe('how many answers gave each rating');
const summary = {
  count: z.int(),
  average: z.number().nullable().describe('two decimals; null when nothing was rated'),
  distribution,
};

export const feedbackRouter = {
  list: protectedProcedure
    .meta({
      permission: 'feedback.read',
      openapi: {
        method: 'GET',
        path: '/feedback',
        tags: ['notifications'],
        summary:
          "Customers' answers after delivery (newest first) and a summary of every matching answer: count, average, distribution 1..5, overall, per warehouse and per carrier",
      },
    })
    .input(
      z.strictObject({
        warehouseId: warehouseIdParam().optional().describe('only orders shipped (in part) from this warehouse'),
        carrier: z.string().trim().min(1).max(64).optional().describe('only orders carried (in part) by this carrier'),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(
      z.object({
        items: z.array(
          z.object({
            orderId: z.string(),
            orderNumber: z.string(),
            rating: z.int().min(1).max(5),
            comment: z.string().optional(),
            answeredAt: z.string(),
            warehouses: z.array(z.string()),
            carriers: z.array(z.string()),
          }),
        ),
        nextCursor: z.string().nullable(),
        summary: z.object({
          overall: z.object(summary),
          byWarehouse: z.array(z.object({ warehouseId: z.string(), ...summary })),
          byCarrier: z.array(z.object({ carrier: z.string(), ...summary })),
        }),
      }),
    )
    .query(({ ctx, input }) => {
      // Comments are the customer's words: not cached on the way.
      noStore(ctx);
      return listFeedback(ctx.deps.db, input);
    }),
} satisfies TRPCRouterRecord;
