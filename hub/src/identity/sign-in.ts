import type { SignInGuard } from '@dovetail/shared';
import { limits } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { scopesForRole } from './clients.ts';
import type { KeyStore } from './keys.ts';
import { apiAudience } from './principal.ts';
import { type AuthenticatedStaff, verifyStaffLogin } from './staff.ts';

export type StaffSignIn =
  | { kind: 'signed_in'; token: string; expiresIn: number; staff: AuthenticatedStaff }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'invalid' };

/**
 * A staff sign-in: the throttle first (per source address and name: 5 failures are free, then each
 * attempt waits longer; each address has a budget of failures; see `SignInGuard`), then the
 * password, then a staff
 * token signed like every other bearer token. `POST /auth/login` and the operations console's
 * sign-in form both go through here, so the lockout and the token's claims are the same for both.
 */
export async function signInStaff(
  deps: { db: Kysely<Database>; keys: KeyStore; loginThrottle: SignInGuard },
  username: string,
  password: string,
  /** The caller's address (`http/client-address.ts`). */
  source: string,
): Promise<StaffSignIn> {
  const allowed = deps.loginThrottle.check(source, `staff:${username}`);
  if (!allowed.ok) return { kind: 'locked', retryAfterSeconds: allowed.retryAfterSeconds };
  const verified = await verifyStaffLogin(deps.db, username, password);
  if (!verified.staff) {
    deps.loginThrottle.recordFailure(source, `staff:${username}`, verified.known);
    return { kind: 'invalid' };
  }
  const { staff } = verified;
  deps.loginThrottle.recordSuccess(source, `staff:${username}`);
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
