import {
  badRequest,
  limits,
  webhookDeliveryStatuses,
  webhookEndpointCreateSchema,
  webhookEndpointPatchSchema,
  webhookEventTypeSchema,
} from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  rotateSecret,
  sendPing,
  updateEndpoint,
} from '../../webhooks/endpoints.ts';
import { issuesToFields } from '../errors.ts';
import { cursorParam, pageLimit } from '../params.ts';
import { noStore, protectedProcedure } from '../trpc.ts';

const tags = ['webhooks'];
const endpointIdParam = () => z.string().min(1).max(64);

const endpointViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(webhookEventTypeSchema),
  warehouses: z.array(z.string()).nullable(),
  ownerClientId: z.string(),
  enabled: z.boolean(),
  disabledReason: z
    .string()
    .nullable()
    .describe('manual, gone (answered 410) or failing (every attempt failed for days)'),
  disabledAt: z.string().nullable(),
  failingSince: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const deliveryViewSchema = z.object({
  id: z.string().describe('The webhook-id of every attempt'),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(webhookDeliveryStatuses),
  attempts: z.int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  attemptLog: z.array(
    z.object({
      attempt: z.int(),
      at: z.string(),
      statusCode: z.int().nullable(),
      latencyMs: z.int(),
      error: z.string().nullable(),
      responseBody: z.string().nullable(),
    }),
  ),
});

export const webhooksRouter = {
  create: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'POST',
        path: '/webhooks',
        tags,
        summary: 'Register a webhook endpoint; its signing secret (whsec_…) is shown once',
        description:
          "Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The URL must be http(s) and must not be, or resolve to, a loopback, private, link-local or metadata address (422 webhook_url_not_allowed) unless the hub runs with HUB_WEBHOOK_ALLOW_PRIVATE=1. A 3PL subscribes to its warehouses' events, a storefront to its own orders' events.",
        successDescription: 'Created',
      },
    })
    .input(webhookEndpointCreateSchema)
    .output(endpointViewSchema.extend({ secret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const endpoint = await createEndpoint(ctx.deps.db, ctx.principal, input, ctx.deps.webhooks, ctx.deps.nowMs());
      ctx.response.status = 201;
      noStore(ctx);
      return endpoint;
    }),

  list: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'GET',
        path: '/webhooks',
        tags,
        summary: 'Webhook endpoints (admins: all; others: their own)',
      },
    })
    .input(z.strictObject({ cursor: cursorParam(), limit: pageLimit() }))
    .output(z.object({ items: z.array(endpointViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) =>
      listEndpoints(ctx.deps.db, ctx.principal, { cursor: input.cursor, limit: input.limit ?? limits.pageSizeDefault }),
    ),

  get: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: { method: 'GET', path: '/webhooks/{id}', tags, summary: 'One webhook endpoint (never its secret)' },
    })
    .input(z.strictObject({ id: endpointIdParam() }))
    .output(endpointViewSchema)
    .query(({ ctx, input }) => getEndpoint(ctx.deps.db, ctx.principal, input.id)),

  update: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'PATCH',
        path: '/webhooks/{id}',
        tags,
        summary: 'Change an endpoint: url, events, description, warehouses, or disabled (false re-enables it)',
      },
    })
    .input(z.strictObject({ id: endpointIdParam(), ...webhookEndpointPatchSchema.shape }))
    .output(endpointViewSchema)
    .mutation(({ ctx, input }) => {
      const { id, ...fields } = input;
      const patch = webhookEndpointPatchSchema.safeParse(fields);
      if (!patch.success) {
        throw badRequest('invalid_input', 'give at least one field to change', {
          issues: issuesToFields(patch.error.issues),
        });
      }
      return updateEndpoint(ctx.deps.db, ctx.principal, id, patch.data, ctx.deps.webhooks, ctx.deps.nowMs());
    }),

  delete: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'DELETE',
        path: '/webhooks/{id}',
        tags,
        summary: 'Delete an endpoint and its deliveries',
      },
    })
    .input(z.strictObject({ id: endpointIdParam() }))
    .output(z.object({ id: z.string(), deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await deleteEndpoint(ctx.deps.db, ctx.principal, input.id);
      return { id: input.id, deleted: true as const };
    }),

  rotateSecret: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'POST',
        path: '/webhooks/{id}/rotate-secret',
        tags,
        summary: 'A new signing secret, shown once; the old one also signs for 24 h (two signatures)',
      },
    })
    .input(z.strictObject({ id: endpointIdParam() }))
    .output(z.object({ id: z.string(), secret: z.string(), previousSecretExpiresAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      noStore(ctx);
      return rotateSecret(ctx.deps.db, ctx.principal, input.id, ctx.deps.webhooks, ctx.deps.nowMs());
    }),

  test: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'POST',
        path: '/webhooks/{id}/test',
        tags,
        summary: 'Send a ping event to this endpoint',
        successDescription: 'Queued',
      },
    })
    .input(z.strictObject({ id: endpointIdParam() }))
    .output(z.object({ eventId: z.string(), deliveryId: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const queued = await sendPing(ctx.deps.db, ctx.principal, input.id, ctx.deps.nowMs());
      ctx.response.status = 202;
      return queued;
    }),

  deliveries: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'GET',
        path: '/webhooks/{id}/deliveries',
        tags,
        summary: 'Deliveries to an endpoint, newest first, each with its attempts (time, status code, latency, error)',
      },
    })
    .input(
      z.strictObject({
        id: endpointIdParam(),
        status: z.enum(webhookDeliveryStatuses).optional(),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(deliveryViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) =>
      listDeliveries(ctx.deps.db, ctx.principal, input.id, {
        status: input.status,
        cursor: input.cursor,
        limit: input.limit ?? limits.pageSizeDefault,
      }),
    ),

  retryDelivery: protectedProcedure
    .meta({
      permission: 'webhooks.manage',
      openapi: {
        method: 'POST',
        path: '/webhooks/{id}/deliveries/{deliveryId}/retry',
        tags,
        summary: 'Send a delivery again now, with the same webhook-id',
        successDescription: 'Queued',
      },
    })
    .input(z.strictObject({ id: endpointIdParam(), deliveryId: z.string().min(1).max(64) }))
    .output(z.object({ id: z.string(), status: z.enum(webhookDeliveryStatuses), nextAttemptAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const queued = await retryDelivery(ctx.deps.db, ctx.principal, input.id, input.deliveryId, ctx.deps.nowMs());
      ctx.response.status = 202;
      return queued;
    }),
} satisfies TRPCRouterRecord;
