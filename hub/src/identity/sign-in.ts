import type { SignInGuard } from '@dovetail/shared';
import { limits } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { scopesForRole } from './clients.ts';
import type { KeyStore } from './keys.ts';
import { acceptMfaCode, type MfaSettings, mfaEnabled } from './mfa.ts';
import { apiAudience } from './principal.ts';
import { type AuthenticatedStaff, verifyStaffLogin } from './staff.ts';

export type StaffSignIn =
  | {
      kind: 'signed_in';
      token: string;
      expiresIn: number;
      staff: AuthenticatedStaff;
      /** The token may only enrol MFA (`HUB_REQUIRE_ADMIN_MFA=1`, an admin without it). */
      enrolmentOnly: boolean;
    }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'invalid' }
  /** Right password, MFA on, no code given: ask for it (nothing counts as a failure). */
  | { kind: 'mfa_required' }
  /** Right password, wrong or already used code: a failure like a wrong password. */
  | { kind: 'invalid_code'; replayed: boolean };

/** The only scope of a token that may just enrol MFA. */
export const enrolmentScope = 'staff.mfa';

/**
 * A staff sign-in: the throttle first (per source address and name: 5 failures are free, then each
 * attempt waits longer; each address has a budget of failures; see `SignInGuard`), then the
 * password, then a staff
 * token signed like every other bearer token. `POST /auth/login` and the operations console's
 * sign-in form both go through here, so the lockout and the token's claims are the same for both.
 */
export async function signInStaff(
  deps: { db: Kysely<Database>; keys: KeyStore; loginThrottle: SignInGuard; mfa: MfaSettings; nowMs: () => number },
  username: string,
  password: string,
  /** The caller's address (`http/client-address.ts`). */
  source: string,
  /** The one-time code (docs/operations.md, "Staff MFA"); required once the account has MFA on. */
  code?: string | undefined,
): Promise<StaffSignIn> {
  const allowed = deps.loginThrottle.begin(source, `staff:${username}`);
  if (!allowed.ok) return { kind: 'locked', retryAfterSeconds: allowed.retryAfterSeconds };
  const verified = await verifyStaffLogin(deps.db, username, password);
  if (!verified.staff) {
    deps.loginThrottle.recordFailure(source, `staff:${username}`, verified.known);
    return { kind: 'invalid' };
  }
  const { staff } = verified;
  const withMfa = await mfaEnabled(deps.db, staff.id);
  if (withMfa) {
    if (code === undefined || code === '') {
      deps.loginThrottle.release(source, `staff:${username}`);
      return { kind: 'mfa_required' };
    }
    const accepted = await acceptMfaCode(deps.db, deps.mfa, staff.id, code, deps.nowMs());
    if (accepted !== 'ok') {
      deps.loginThrottle.recordFailure(source, `staff:${username}`, true);
      return { kind: 'invalid_code', replayed: accepted === 'replayed' };
    }
  }
  // An admin without MFA where it is required gets a token that can only enrol.
  const enrolmentOnly = !withMfa && staff.role === 'admin' && deps.mfa.requireForAdmins;
  deps.loginThrottle.recordSuccess(source, `staff:${username}`);
  const token = await deps.keys.sign(
    {
      sub: staff.id,
      role: staff.role,
      wh: staff.warehouses,
      scope: enrolmentOnly ? enrolmentScope : scopesForRole(staff.role).join(' '),
      knd: 'staff',
      epoch: 1,
      name: staff.username,
    },
    apiAudience,
    limits.staffTokenTtlSeconds,
  );
  return { kind: 'signed_in', token, expiresIn: limits.staffTokenTtlSeconds, staff, enrolmentOnly };
}
