import {
  DomainError,
  type Permission,
  type Principal,
  authorize,
  commonErrorCodes,
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
export function requireSession(options: { staff: StaffDirectory }): MiddlewareHandler<{ Variables: AuthVariables }> {
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
