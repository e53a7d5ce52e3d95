import type { SignInGuard } from '@dovetail/shared';
import {
  authorize,
  badRequest,
  forbidden,
  idempotencyKeySchema,
  type Permission,
  type ReturnPolicy,
} from '@dovetail/shared';
import { initTRPC } from '@trpc/server';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import type { Database } from '../database.ts';
import type { KeyStore } from '../identity/keys.ts';
import type { MfaSettings } from '../identity/mfa.ts';
import type { Authenticator, AuthPrincipal, AuthResult } from '../identity/principal.ts';
import type { WebhookSettings } from '../webhooks/settings.ts';
import { ApiError, asApiError, insufficientScope, toErrorResponse, unauthorized } from './errors.ts';
import { type RateLimiter, instanceShare } from './rate-limit.ts';

export type HubDeps = {
  db: Kysely<Database>;
  /** Which SQL the storage speaks: the hold path takes a different (equally atomic) route on each. */
  dialect: 'sqlite' | 'postgres';
  keys: KeyStore;
  authenticator: Authenticator;
  loginThrottle: SignInGuard;
  /** Per-client request budget, charged once per procedure call (so batched calls each count). */
  rateLimiter: RateLimiter;
  /** Stricter budget for `/oauth/token`, per client id. */
  tokenRateLimiter: RateLimiter;
  /**
   * `HUB_INSTANCES`: how many hub instances share the clients' budgets. Buckets live in each
   * instance's memory, so each enforces 1/N of a client's budget (docs/operations.md, "Request budgets").
   */
  budgetInstances: number;
  nowMs: () => number;
  logger: Logger;
  /** Where people reach the hub from outside (`HUB_PUBLIC_URL`): links in e-mails and order views. */
  publicUrl: string;
  /** How webhook URLs are checked (SSRF guard) and endpoint secrets sealed. */
  webhooks: WebhookSettings;
  /** The return window and when returns are authorized without an agent (`HUB_RETURN_*`). */
  returns: ReturnPolicy;
  /** Staff MFA: secrets sealed with the key-encryption key; `HUB_REQUIRE_ADMIN_MFA` (docs/operations.md, "Staff MFA"). */
  mfa: MfaSettings;
};

/** What a procedure may set on the response: a status (201) and headers (ETag, no-store). */
export type ResponseExtras = { status?: number; headers: Record<string, string> };

export type Context = {
  deps: HubDeps;
  auth: AuthResult | null;
  /** The request's If-Match header (REST); tRPC callers pass `expectedVersion` instead. */
  ifMatch: string | undefined;
  response: ResponseExtras;
  /** The request's id (x-request-id), for log lines about this request. */
  requestId?: string;
  /** The caller's address (`client-address.ts`): what sign-in throttles key on. */
  source?: string;
};

/**
 * Every procedure names the permission it needs (from the shared policy table) or says it is
 * public; the role × route matrix test walks these.
 */
export type HubMeta = OpenApiMeta & {
  permission: Permission | 'public';
  /**
   * REST creates that honour `Idempotency-Key` (replayed per client for 24 h); `required` where a
   * retry without one would repeat the effect and nothing else tells the two apart (400 without it).
   */
  idempotent?: boolean | 'required';
  /** A privileged action: each success appends this action to the audit trail (docs/operations.md). */
  audit?: string;
};

const t = initTRPC
  .context<Context>()
  .meta<HubMeta>()
  .create({
    isDev: false,
    errorFormatter({ shape, error }) {
      const response = toErrorResponse(error);
      return {
        message: response.body.error.message,
        code: shape.code,
        data: { code: shape.data.code, httpStatus: response.status, apiError: response.body.error },
      };
    },
  });

export const router = t.router;

/**
 * Rules below `http/` throw DomainErrors, which tRPC would wrap as a 500; this gives them their
 * status and tRPC code (one mapping, in errors.ts) before any adapter sees them.
 */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const api = asApiError(result.error);
    if (api && api !== result.error) throw api;
  }
  return result;
});

/** Where the first string (or key) with a NUL character sits in a raw input: `''` for the input itself. */
function nulCharacterAt(value: unknown, path: string[] = [], depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return [...path, key].join('.');
    const found = nulCharacterAt(item, [...path, key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Text with a NUL character (U+0000) is refused before any procedure runs, REST or tRPC: a
 * PostgreSQL text column cannot hold one (the write failed with a 500, found by the fuzz tests), and
 * it is never part of a name, note or search a person typed.
 */
const noNulCharacters = t.middleware(async ({ next, getRawInput }) => {
  const path = nulCharacterAt(await getRawInput());
  if (path !== undefined) {
    const message = 'text must not contain NUL (U+0000) characters';
    throw badRequest('invalid_input', `invalid input: ${path || 'input'}`, {
      issues: [{ path, message, code: 'invalid_string' }],
    });
  }
  return next();
});

export const publicProcedure = t.procedure.use(domainErrors).use(noNulCharacters);

/**
 * Authentication, then the per-client budget, then the shared policy for the permission, then the
 * token's scopes: what every protected procedure runs first, and what a hand-written route that
 * serves a procedure's path (http/reserve-route.ts) runs instead. One function, so no entry skips it.
 */
export function guard(ctx: Context, permission: Permission | 'public' | undefined): AuthPrincipal {
  if (!ctx.auth) throw unauthorized();
  if (!ctx.auth.ok) throw unauthorized(ctx.auth.message);
  const principal = ctx.auth.principal;
  const policy = instanceShare(principal.budget ?? ctx.deps.rateLimiter, ctx.deps.budgetInstances);
  const budget = ctx.deps.rateLimiter.take(`${principal.kind}:${principal.subject}`, policy);
  const budgetHeaders = ctx.deps.rateLimiter.headers(budget, policy);
  if (!budget.ok)
    throw new ApiError(
      429,
      'rate_limited',
      'too many requests from this client; retry later',
      undefined,
      budgetHeaders,
    );
  Object.assign(ctx.response.headers, budgetHeaders);
  if (!permission || permission === 'public') throw new Error('protected procedure without a permission');
  const decision = authorize(principal, permission);
  if (!decision.ok) throw forbidden(decision.message);
  if (!principal.scopes.has(permission)) throw insufficientScope(`token lacks scope ${permission}`);
  return principal;
}

export type ProtectedContext = Context & { principal: AuthPrincipal };

export const protectedProcedure = publicProcedure.use(async ({ ctx, meta, next, getRawInput, path }) => {
  let principal: AuthPrincipal;
  try {
    principal = guard(ctx, meta?.permission);
  } catch (error) {
    await recordDenial(ctx, path, await getRawInput(), error);
    throw error;
  }
  const result = await next({ ctx: { ...ctx, principal } });
  if (!result.ok) await recordDenial(ctx, path, await getRawInput(), result.error);
  if (meta?.audit && result.ok) {
    const input = await getRawInput();
    await recordAudit(
      ctx.deps.db,
      ctx.deps.dialect,
      {
        actor: principal.subject,
        actorKind: principal.kind,
        source: ctx.source ?? 'unknown',
        requestId: ctx.requestId,
        action: meta.audit,
        target: auditTarget(input, result.data),
        change: input,
      },
      ctx.deps.nowMs(),
    );
  }
  return result;
});

/**
 * A refused authorization (403: the role lacks the permission, the object is outside the caller's
 * warehouses, or the token lacks the scope) goes into the audit trail as `access.denied`, with the
 * procedure and the id it named as target (docs/operations.md, "Audit trail"). Refusals before
 * authentication (401) and over budget (429) are not written: they prove nothing about a principal,
 * and a row each would let a flood grow the table. A trail that cannot be written does not turn
 * the 403 into a 500.
 */
export async function recordDenial(ctx: Context, procedure: string, input: unknown, error: unknown): Promise<void> {
  const api = asApiError(error);
  if (api?.status !== 403 || !ctx.auth?.ok) return;
  const principal = ctx.auth.principal;
  const named = auditTarget(input, undefined);
  try {
    await recordAudit(
      ctx.deps.db,
      ctx.deps.dialect,
      {
        actor: principal.subject,
        actorKind: principal.kind,
        source: ctx.source ?? 'unknown',
        requestId: ctx.requestId,
        action: 'access.denied',
        target: named ? `${procedure}:${named}` : procedure,
        change: { procedure, reason: api.reason, input },
      },
      ctx.deps.nowMs(),
    );
  } catch (failure) {
    ctx.deps.logger.warn({ err: failure, reqId: ctx.requestId }, 'could not record a denial in the audit trail');
  }
}

/** What an audited action acted on: the id its input names, else the id of what it created. */
function auditTarget(input: unknown, output: unknown): string | undefined {
  for (const value of [input, output]) {
    if (value === null || typeof value !== 'object') continue;
    const record = value as Record<string, unknown>;
    for (const key of ['id', 'clientId', 'username', 'warehouseId', 'kid']) {
      const found = record[key];
      if (typeof found === 'string' && found.length > 0) return found;
    }
  }
  return undefined;
}

/** Object-level check: the principal may use `permission` on this warehouse. */
export function requireWarehouse(principal: AuthPrincipal, permission: Permission, warehouseId: string): void {
  const decision = authorize(principal, permission, warehouseId);
  if (!decision.ok) throw forbidden(decision.message);
}

export function noStore(ctx: Context): void {
  ctx.response.headers['cache-control'] = 'no-store';
}

/** Documents the header on idempotent creates. */
export const idempotencyHeaders = z.object({
  'idempotency-key': idempotencyKeySchema
    .optional()
    .describe('Retry-safe create: the same key and body replay the first response'),
});

/** Documents the header where it is required (`idempotent: 'required'`). */
export const idempotencyRequiredHeaders = z.object({
  'idempotency-key': idempotencyKeySchema.describe(
    'Required: the same key and body replay the first response; without it the request is refused (400)',
  ),
});
