import { forbidden, limits } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { recordAudit } from '../../audit/service.ts';
import { signInStaff } from '../../identity/sign-in.ts';
import { createStaff, disableStaff, getStaff, listStaff, staffRoles } from '../../identity/staff.ts';
import { ApiError } from '../errors.ts';
import { idParam, pageLimit, warehouseIdParam } from '../params.ts';
import { type HubDeps, noStore, protectedProcedure, publicProcedure } from '../trpc.ts';

const tags = ['identity'];

const staffViewSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: z.enum(staffRoles),
  warehouses: z.union([z.array(z.string()), z.literal('*')]),
  disabled: z.boolean(),
  createdAt: z.int(),
});

const usernameSchema = z
  .string()
  .min(1)
  .max(limits.usernameLengthMax)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'username: lower-case letters, digits, . _ -');

export const staffRouter = {
  login: publicProcedure
    .meta({
      permission: 'public',
      openapi: {
        method: 'POST',
        path: '/auth/login',
        tags,
        summary: 'Staff sign-in: returns a bearer token',
        protect: false,
        errorResponses: [400, 401, 429],
      },
    })
    .input(
      z.strictObject({
        username: z.string().min(1).max(limits.usernameLengthMax),
        password: z.string().min(1).max(limits.passwordLengthMax),
      }),
    )
    .output(z.object({ token: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.int() }))
    .mutation(async ({ ctx, input }) => {
      noStore(ctx);
      const result = await signInStaff(ctx.deps, input.username, input.password, ctx.source ?? 'unknown');
      if (result.kind === 'locked') {
        throw new ApiError(429, 'too_many_attempts', 'too many failed sign-ins; try later', undefined, {
          'retry-after': String(result.retryAfterSeconds),
        });
      }
      if (result.kind === 'invalid') {
        await recordSignInRefused(ctx.deps, input.username, ctx.source ?? 'unknown', ctx.requestId);
        throw new ApiError(401, 'invalid_credentials', 'wrong username or password');
      }
      const { token } = result;
      return { token, tokenType: 'Bearer' as const, expiresIn: limits.staffTokenTtlSeconds };
    }),

  create: protectedProcedure
    .meta({
      permission: 'staff.manage',
      audit: 'staff.create',
      openapi: { method: 'POST', path: '/staff', tags, summary: 'Add a staff member', successDescription: 'Created' },
    })
    .input(
      z.strictObject({
        username: usernameSchema,
        password: z.string().min(limits.passwordLengthMin).max(limits.passwordLengthMax),
        role: z.enum(staffRoles),
        warehouses: z.array(warehouseIdParam()).max(1_000).default([]),
      }),
    )
    .output(staffViewSchema)
    .mutation(async ({ ctx, input }) => {
      const principal = ctx.principal;
      // A supervisor may add floor staff to their own warehouses only; anything wider is an admin's.
      if (principal.role !== 'admin') {
        const own = principal.warehouses;
        const inScope =
          own === '*' || (input.warehouses.length > 0 && input.warehouses.every((id) => own.includes(id)));
        if (input.role !== 'warehouse_staff' || !inScope)
          throw forbidden('supervisors add warehouse staff to their own warehouses only');
      }
      const staff = await createStaff(ctx.deps.db, input, ctx.deps.nowMs());
      ctx.response.status = 201;
      return staff;
    }),

  list: protectedProcedure
    .meta({
      permission: 'staff.manage',
      openapi: { method: 'GET', path: '/staff', tags, summary: 'Staff members the caller manages' },
    })
    .input(z.strictObject({ limit: pageLimit() }))
    .output(z.object({ items: z.array(staffViewSchema) }))
    .query(async ({ ctx, input }) => ({
      items: await listStaff(ctx.deps.db, ctx.principal.warehouses, input.limit ?? limits.pageSizeMax),
    })),

  disable: protectedProcedure
    .meta({
      permission: 'staff.manage',
      audit: 'staff.disable',
      openapi: {
        method: 'POST',
        path: '/staff/{id}/disable',
        tags,
        summary: 'Disable a staff member: their tokens stop working',
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(staffViewSchema)
    .mutation(async ({ ctx, input }) => {
      const target = await getStaff(ctx.deps.db, input.id);
      const own = ctx.principal.warehouses;
      if (own !== '*' && (target.warehouses === '*' || !target.warehouses.every((id) => own.includes(id)))) {
        throw forbidden('not permitted for this staff member');
      }
      const staff = await disableStaff(ctx.deps.db, input.id, ctx.deps.nowMs());
      ctx.deps.authenticator.forget();
      return staff;
    }),
} satisfies TRPCRouterRecord;

/** A refused staff sign-in goes to the audit trail, under the username tried (docs/operations.md). */
export async function recordSignInRefused(
  deps: HubDeps,
  username: string,
  source: string,
  requestId: string | undefined,
): Promise<void> {
  await recordAudit(
    deps.db,
    deps.dialect,
    {
      actor: username,
      actorKind: 'unauthenticated',
      source,
      requestId,
      action: 'auth.sign_in_refused',
      target: username,
      change: { username, reason: 'invalid_credentials' },
    },
    deps.nowMs(),
  );
}
