import { forbidden, limits, notFound } from '@dovetail/shared';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { recordAudit } from '../../audit/service.ts';
import { beginMfaEnrolment, confirmMfa, resetMfa } from '../../identity/mfa.ts';
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

const mfaCodeSchema = z.string().regex(/^[0-9]{6}$/, 'code: the 6 digits the authenticator app shows');

/** MFA is for hub staff accounts: an API client has no staff record, so no second factor to enrol (404). */
function staffSelf(principal: { kind: string; subject: string }): string {
  if (principal.kind !== 'staff') throw notFound('staff member');
  return principal.subject;
}

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
        summary: 'Staff sign-in: returns a bearer token (with MFA on, `code` is required: 401 mfa_required without it)',
        protect: false,
        errorResponses: [400, 401, 429],
      },
    })
    .input(
      z.strictObject({
        username: z.string().min(1).max(limits.usernameLengthMax),
        password: z.string().min(1).max(limits.passwordLengthMax),
        code: mfaCodeSchema.optional().describe('the current one-time code, when the account has MFA on'),
      }),
    )
    .output(
      z.object({
        token: z.string(),
        tokenType: z.literal('Bearer'),
        expiresIn: z.int(),
        mfaEnrolmentRequired: z
          .literal(true)
          .optional()
          .describe('HUB_REQUIRE_ADMIN_MFA: this token may only enrol MFA (POST /staff/me/mfa)'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      noStore(ctx);
      const result = await signInStaff(ctx.deps, input.username, input.password, ctx.source ?? 'unknown', input.code);
      if (result.kind === 'locked') {
        throw new ApiError(429, 'too_many_attempts', 'too many failed sign-ins; try later', undefined, {
          'retry-after': String(result.retryAfterSeconds),
        });
      }
      if (result.kind === 'invalid') {
        await recordSignInRefused(ctx.deps, input.username, ctx.source ?? 'unknown', ctx.requestId);
        throw new ApiError(401, 'invalid_credentials', 'wrong username or password');
      }
      if (result.kind === 'mfa_required')
        throw new ApiError(401, 'mfa_required', 'this account signs in with a one-time code: send `code`');
      if (result.kind === 'invalid_code') {
        const reason = result.replayed ? 'mfa_code_replayed' : 'invalid_mfa_code';
        await recordSignInRefused(ctx.deps, input.username, ctx.source ?? 'unknown', ctx.requestId, reason);
        throw new ApiError(
          401,
          'invalid_mfa_code',
          result.replayed ? 'that code was already used; wait for the next one' : 'wrong one-time code',
        );
      }
      const { token } = result;
      return {
        token,
        tokenType: 'Bearer' as const,
        expiresIn: limits.staffTokenTtlSeconds,
        ...(result.enrolmentOnly ? { mfaEnrolmentRequired: true as const } : {}),
      };
    }),

  mfaEnrol: protectedProcedure
    .meta({
      permission: 'staff.mfa',
      openapi: {
        method: 'POST',
        path: '/staff/me/mfa',
        tags,
        summary:
          'Start MFA enrolment (TOTP: SHA-1, 6 digits, 30 s): a secret and its otpauth:// URI, on once confirmed with a first code',
      },
    })
    .input(z.strictObject({}))
    .output(z.object({ secret: z.string(), otpauthUri: z.string() }))
    .mutation(async ({ ctx }) => {
      noStore(ctx);
      return beginMfaEnrolment(ctx.deps.db, ctx.deps.mfa, staffSelf(ctx.principal));
    }),

  mfaConfirm: protectedProcedure
    .meta({
      permission: 'staff.mfa',
      openapi: {
        method: 'POST',
        path: '/staff/me/mfa/confirm',
        tags,
        summary: 'Turn MFA on with the first code from the enrolled secret',
      },
    })
    .input(z.strictObject({ code: mfaCodeSchema }))
    .output(z.object({ enabled: z.literal(true) }))
    .mutation(async ({ ctx, input }) =>
      confirmMfa(ctx.deps.db, ctx.deps.mfa, staffSelf(ctx.principal), input.code, ctx.deps.nowMs()),
    ),

  mfaReset: protectedProcedure
    .meta({
      permission: 'staff.manage',
      audit: 'staff.mfa_reset',
      openapi: {
        method: 'POST',
        path: '/staff/{id}/mfa/reset',
        tags,
        summary: "Turn a staff member's MFA off (a lost phone): they sign in with the password and enrol again",
      },
    })
    .input(z.strictObject({ id: idParam() }))
    .output(staffViewSchema)
    .mutation(async ({ ctx, input }) => {
      // As for disabling: a supervisor only for people wholly inside their own warehouses, never an admin.
      const target = await getStaff(ctx.deps.db, input.id);
      const own = ctx.principal.warehouses;
      if (own !== '*' && (target.warehouses === '*' || !target.warehouses.every((id) => own.includes(id)))) {
        throw forbidden('not permitted for this staff member');
      }
      await resetMfa(ctx.deps.db, input.id);
      return target;
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
  reason: 'invalid_credentials' | 'invalid_mfa_code' | 'mfa_code_replayed' = 'invalid_credentials',
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
      change: { username, reason },
    },
    deps.nowMs(),
  );
}
