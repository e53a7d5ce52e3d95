import { limits } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { listAudit } from '../../audit/service.ts';
import { cursorParam, pageLimit } from '../params.ts';
import { noStore, protectedProcedure } from '../trpc.ts';

const tags = ['audit'];

const entrySchema = z.object({
  seq: z.int().describe('position in the chain, from 1'),
  at: z.string(),
  actor: z.string().describe('client id, staff id, or the name a refused caller claimed'),
  actorKind: z.string(),
  source: z.string().describe("the caller's address"),
  requestId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  digest: z.string().describe('SHA-256 of the canonical JSON of what changed, secrets redacted'),
  prevHash: z.string(),
  hash: z.string().describe('SHA-256(prevHash + canonical row)'),
});

export const auditRouter = {
  list: protectedProcedure
    .meta({
      permission: 'audit.read',
      openapi: {
        method: 'GET',
        path: '/audit',
        tags,
        summary: 'The audit trail, newest first: privileged actions and refused sign-ins',
      },
    })
    .input(
      z.strictObject({
        actor: z.string().min(1).max(200).optional(),
        action: z.string().min(1).max(100).optional(),
        from: z.iso.datetime({ offset: true }).optional().describe('entries at or after this time'),
        to: z.iso.datetime({ offset: true }).optional().describe('entries before this time'),
        cursor: cursorParam(),
        limit: pageLimit(),
      }),
    )
    .output(z.object({ items: z.array(entrySchema), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      noStore(ctx);
      return listAudit(ctx.deps.db, {
        actor: input.actor,
        action: input.action,
        fromMs: input.from ? Date.parse(input.from) : undefined,
        toMs: input.to ? Date.parse(input.to) : undefined,
        cursor: input.cursor,
        limit: input.limit ?? limits.pageSizeDefault,
      });
    }),
} satisfies TRPCRouterRecord;
