import { carrierSchema, limits } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { clientRoles, createClient, listClients, revokeClient, setClientBudget } from '../../identity/clients.ts';
import { idParam, pageLimit, warehouseIdParam } from '../params.ts';
import { noStore, protectedProcedure } from '../trpc.ts';

const tags = ['identity'];

const rate = () => z.int().min(1).max(limits.clientRequestsPerSecondMax);
const burst = () => z.int().min(1).max(limits.clientRequestsBurstMax);
const holdCap = () => z.int().min(1).max(limits.quantityMax);

const clientViewSchema = z.object({
  clientId: z.string(),
  name: z.string(),
  role: z.string(),
  warehouses: z.union([z.array(z.string()), z.literal('*')]),
  carrier: z.string().optional(),
  requestsPerSecond: z
    .int()
    .nullable()
    .describe("this client's budget; null: the hub's default (HUB_CLIENT_REQUESTS_PER_SECOND)"),
  burst: z.int().nullable(),
  holdUnitsPerSkuMax: z
    .int()
    .nullable()
    .describe(
      "units this client may hold of one SKU at once; null: the hub's default (HUB_HOLD_UNITS_PER_SKU_MAX, storefront clients)",
    ),
  epoch: z.int(),
  revoked: z.boolean(),
  createdAt: z.int(),
});

export const clientsRouter = {
  create: protectedProcedure
    .meta({
      permission: 'clients.manage',
      audit: 'client.create',
      openapi: {
        method: 'POST',
        path: '/clients',
        tags,
        summary: 'Create an API client; its secret is shown once',
        successDescription: 'Created',
      },
    })
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(limits.clientNameLengthMax),
        role: z.enum(clientRoles),
        warehouses: z.array(warehouseIdParam()).max(1_000).optional(),
        carrier: carrierSchema.optional().describe('for role carrier: the carrier it reports tracking for'),
        requestsPerSecond: rate().optional().describe("the client's own request budget; default: the hub's"),
        burst: burst().optional().describe('requests allowed at once (default 10 s of the rate)'),
        holdUnitsPerSkuMax: holdCap()
          .optional()
          .describe("units it may hold of one SKU at once (active holds); default: the hub's, for storefront clients"),
      }),
    )
    .output(clientViewSchema.extend({ clientSecret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const client = await createClient(ctx.deps.db, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      noStore(ctx);
      return client;
    }),

  list: protectedProcedure
    .meta({
      permission: 'clients.manage',
      openapi: { method: 'GET', path: '/clients', tags, summary: 'API clients (never their secrets)' },
    })
    .input(z.strictObject({ limit: pageLimit() }))
    .output(z.object({ items: z.array(clientViewSchema) }))
    .query(async ({ ctx, input }) => ({ items: await listClients(ctx.deps.db, input.limit ?? limits.pageSizeMax) })),

  revoke: protectedProcedure
    .meta({
      permission: 'clients.manage',
      audit: 'client.revoke',
      openapi: {
        method: 'POST',
        path: '/clients/{id}/revoke',
        tags,
        summary: 'Revoke a client: its tokens stop working',
      },
    })
    .input(z.strictObject({ id: idParam().max(128) }))
    .output(clientViewSchema)
    .mutation(async ({ ctx, input }) => {
      const client = await revokeClient(ctx.deps.db, input.id, ctx.deps.nowMs());
      ctx.deps.authenticator.forget();
      return client;
    }),

  update: protectedProcedure
    .meta({
      permission: 'clients.manage',
      audit: 'client.update',
      openapi: {
        method: 'PATCH',
        path: '/clients/{id}',
        tags,
        summary:
          "Set a client's request budget and hold cap (null: back to the hub's default; a field left out keeps its value)",
      },
    })
    .input(
      z.strictObject({
        id: idParam().max(128),
        requestsPerSecond: rate().nullable().optional(),
        burst: burst().optional(),
        holdUnitsPerSkuMax: holdCap().nullable().optional(),
      }),
    )
    .output(clientViewSchema)
    .mutation(async ({ ctx, input }) => {
      const client = await setClientBudget(ctx.deps.db, input.id, input);
      ctx.deps.authenticator.forget();
      return client;
    }),

  rotateSigningKey: protectedProcedure
    .meta({
      permission: 'clients.manage',
      audit: 'signing_key.rotate',
      openapi: {
        method: 'POST',
        path: '/keys/rotate',
        tags,
        summary: 'Start signing with a new key; the old one stays in the JWKS until pruned',
      },
    })
    .input(z.strictObject({}))
    .output(z.object({ kid: z.string() }))
    .mutation(async ({ ctx }) => ({ kid: await ctx.deps.keys.rotate() })),
} satisfies TRPCRouterRecord;
