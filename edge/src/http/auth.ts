import {
  authorize,
  commonErrorCodes,
  DomainError,
  limits,
  type Permission,
  type Principal,
  type RateLimiter,
  unauthenticated,
} from '@dovetail/shared';
import type { MiddlewareHandler } from 'hono';
import type { Session, StaffDirectory } from '../services/staff.ts';

export type AuthVariables = { session: Session; requestId: string };

/**
 * Requires a valid staff session token (`Authorization: Bearer …`); never accepts one in the query.
 * Each refusal is a 401 with the hub's codes (`unauthorized`, `token_in_query`); http/errors.ts
 * adds the `WWW-Authenticate` challenge.
 */
export function requireSession(options: {
  staff: StaffDirectory;
  /** Each session's request budget (the shared token bucket, keyed by staff account); 429 past it. */
  budget?: RateLimiter | undefined;
}): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireSessionMiddleware(c, next) {
    if (c.req.query('access_token') !== undefined) {
      throw unauthenticated(
        'send the token in the Authorization header, never in the URL',
        commonErrorCodes.tokenInQuery,
      );
    }
    const header = c.req.header('authorization');
    const match = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    if (!match) {
      throw unauthenticated(
        'sign in with POST /api/v1/login and send Authorization: Bearer <token>',
        commonErrorCodes.unauthorized,
      );
    }
    const session = options.staff.authenticate(match[1] as string);
    if (!session) {
      throw unauthenticated('the token is unknown, expired or revoked; sign in again', commonErrorCodes.unauthorized);
    }
    c.set('session', session);
    if (options.budget) {
      const decision = options.budget.take(session.staffId);
      if (!decision.ok) {
        throw new DomainError(
          'rate_limited',
          commonErrorCodes.rateLimited,
          `more than ${options.budget.burst} requests at once from this account; slow down`,
          undefined,
          { retryAfterSeconds: decision.retryAfterSeconds },
        );
      }
    }
    await next();
  };
}

/** The shared policy table decides; this only turns its answer into a 403. */
export function permit(principal: Principal, permission: Permission, warehouseId: string): void {
  const decision = authorize(principal, permission, warehouseId);
  if (!decision.ok) {
    throw new DomainError('forbidden', 'forbidden', decision.message, { permission, reason: decision.reason });
  }
}

/**
 * The budget of each signed-in account from `EDGE_SESSION_REQUESTS_PER_SECOND` and
 * `EDGE_SESSION_REQUESTS_BURST` (defaults in shared/src/limits.ts).
 */
export function sessionBudgetFromEnv(env: NodeJS.ProcessEnv): { perSecond: number; burst: number } {
  const read = (name: string, fallback: number, max: number) => {
    const text = (env[name] ?? '').trim();
    if (text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new Error(`${name} must be an integer from 1 to ${max}`);
    return value;
  };
  return {
    perSecond: read('EDGE_SESSION_REQUESTS_PER_SECOND', limits.edgeSessionRequestsPerSecondDefault, 100_000),
    burst: read('EDGE_SESSION_REQUESTS_BURST', limits.edgeSessionRequestsBurstDefault, 1_000_000),
  };
}
