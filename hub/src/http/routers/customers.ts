import { emailSchema } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { eraseCustomer, exportCustomer } from '../../privacy/service.ts';
import { noStore, protectedProcedure } from '../trpc.ts';

const tags = ['customers'];
const input = z.strictObject({ email: emailSchema.describe("the customer's e-mail, any case") });

/**
 * Privacy requests (docs/operations.md, "Personal data"): what the hub holds about a customer, and
 * their erasure by crypto-shredding. Customers are found by the keyed hash of their e-mail.
 */
export const customersRouter = {
  export: protectedProcedure
    .meta({
      permission: 'customers.privacy',
      audit: 'customer.export',
      openapi: {
        method: 'POST',
        path: '/customers/export',
        tags,
        summary:
          'Everything the hub holds about a customer (orders, returns, notifications), decrypted; after erasure their orders are no longer found by the e-mail',
      },
    })
    .input(input)
    .output(
      z.object({
        email: z.string(),
        orders: z.array(z.record(z.string(), z.unknown())),
        returns: z.array(z.record(z.string(), z.unknown())),
        notifications: z.array(
          z.object({
            id: z.string(),
            orderId: z.string(),
            kind: z.string(),
            channel: z.string(),
            recipient: z.string(),
            status: z.string(),
            createdAt: z.string(),
          }),
        ),
        truncated: z.boolean().describe('more than 1,000 orders: the oldest 1,000 are listed'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      noStore(ctx);
      return exportCustomer(ctx.deps.db, input.email, ctx.deps.nowMs());
    }),

  erase: protectedProcedure
    .meta({
      permission: 'customers.privacy',
      audit: 'customer.erase',
      openapi: {
        method: 'POST',
        path: '/customers/erase',
        tags,
        summary:
          'Erase a customer\'s personal data: their data keys are destroyed, their orders keep lines, totals and history and read "erased" for name, e-mail, phone and addresses; idempotent',
      },
    })
    .input(input)
    .output(z.object({ erased: z.boolean().describe('false: nothing was held'), orders: z.int() }))
    .mutation(({ ctx, input }) => eraseCustomer(ctx.deps.db, input.email, ctx.deps.nowMs())),
} satisfies TRPCRouterRecord;
