import { type Permission, type Principal, authorize } from '@dovetail/shared';
import type { MiddlewareHandler } from 'hono';
import type { Session, StaffDirectory } from '../services/staff.ts';
import { HttpError } from './errors.ts';

export type AuthVariables = { session: Session; requestId: string };

/** Requires a valid staff session token (`Authorization: Bearer …`); never accepts one in the query. */
export function requireSession(options: { staff: StaffDirectory }): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireSessionMiddleware(c, next) {
    if (c.req.query('access_token') !== undefined) {
      throw new HttpError(400, 'token_in_query', 'send the token in the Authorization header, never in the URL');
    }
    const header = c.req.header('authorization');
    const match = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    if (!match) {
      throw new HttpError(
        401,
        'unauthenticated',
        'sign in with POST /api/v1/login and send Authorization: Bearer <token>',
        undefined,
        {
          'WWW-Authenticate': 'Bearer realm="dovetail-edge"',
        },
      );
    }
    const session = options.staff.authenticate(match[1] as string);
    if (!session) {
      throw new HttpError(401, 'invalid_token', 'the token is unknown, expired or revoked; sign in again', undefined, {
        'WWW-Authenticate': 'Bearer realm="dovetail-edge", error="invalid_token"',
      });
    }
    c.set('session', session);
    await next();
  };
}

/** The shared policy table decides; this only turns its answer into a 403. */
export function permit(principal: Principal, permission: Permission, warehouseId: string): void {
  const decision = authorize(principal, permission, warehouseId);
  if (!decision.ok) throw new HttpError(403, 'forbidden', decision.message, { permission, reason: decision.reason });
}
