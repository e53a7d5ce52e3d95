import { limits } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { scopesForRole } from './clients.ts';
import type { KeyStore } from './keys.ts';
import { apiAudience, type LoginThrottle } from './principal.ts';
import { type AuthenticatedStaff, verifyStaffLogin } from './staff.ts';

export type StaffSignIn =
  | { kind: 'signed_in'; token: string; expiresIn: number; staff: AuthenticatedStaff }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'invalid' };

/**
 * A staff sign-in: the throttle first (5 failures lock the name), then the password, then a staff
 * token signed like every other bearer token. `POST /auth/login` and the operations console's
 * sign-in form both go through here, so the lockout and the token's claims are the same for both.
 */
export async function signInStaff(
  deps: { db: Kysely<Database>; keys: KeyStore; loginThrottle: LoginThrottle },
  username: string,
  password: string,
): Promise<StaffSignIn> {
  const lockedSeconds = deps.loginThrottle.lockedForSeconds(username);
  if (lockedSeconds > 0) return { kind: 'locked', retryAfterSeconds: lockedSeconds };
  const staff = await verifyStaffLogin(deps.db, username, password);
  if (!staff) {
    deps.loginThrottle.recordFailure(username);
    return { kind: 'invalid' };
  }
  deps.loginThrottle.recordSuccess(username);
  const token = await deps.keys.sign(
    {
      sub: staff.id,
      role: staff.role,
      wh: staff.warehouses,
      scope: scopesForRole(staff.role).join(' '),
      knd: 'staff',
      epoch: 1,
      name: staff.username,
    },
    apiAudience,
    limits.staffTokenTtlSeconds,
  );
  return { kind: 'signed_in', token, expiresIn: limits.staffTokenTtlSeconds, staff };
}
