import { conflict, DomainError, notFound } from '@dovetail/shared';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, otpauthUri } from '@dovetail/shared/totp';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { unwrapPrivateKey, wrapPrivateKey } from './key-wrap.ts';

/**
 * Hub staff MFA (docs/operations.md, "Staff MFA"): TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps,
 * one step of drift either side; the computation is shared/src/auth/totp.ts). Secrets are sealed
 * with the hub's key-encryption key (AES-256-GCM, the staff id bound in, like signing keys); a hub
 * built without one (tests in memory) keeps them plain, as it does its signing keys. A code works
 * once: the step of the last accepted code is kept, and a code of that step or an earlier one is
 * refused, by the same conditional update that accepts it (two concurrent sign-ins with one code:
 * one wins).
 */
export type MfaSettings = {
  /** `HUB_REQUIRE_ADMIN_MFA=1`: an admin without MFA signs in only to enrol. */
  requireForAdmins: boolean;
  keyEncryptionKey: Buffer | undefined;
  /** The issuer authenticator apps show next to the account. */
  issuer: string;
};

const sealId = (staffId: string) => `staff-mfa:${staffId}`;

function seal(secret: Uint8Array, staffId: string, settings: MfaSettings): string {
  const text = base32Encode(secret);
  return settings.keyEncryptionKey ? wrapPrivateKey(text, sealId(staffId), settings.keyEncryptionKey) : text;
}

function unseal(stored: string, staffId: string, settings: MfaSettings): Uint8Array {
  return base32Decode(unwrapPrivateKey(stored, sealId(staffId), settings.keyEncryptionKey));
}

const invalidCode = () => new DomainError('unprocessable', 'invalid_mfa_code', 'that code is not the current one');

/**
 * `POST /staff/me/mfa`: a new secret for the caller, pending until `confirmMfa` sees a code from it.
 * Asking again replaces a pending secret; once MFA is on, it is 409 (an admin resets it).
 */
export async function beginMfaEnrolment(
  db: Kysely<Database>,
  settings: MfaSettings,
  staffId: string,
): Promise<{ secret: string; otpauthUri: string }> {
  const row = await db
    .selectFrom('staff')
    .select(['username', 'mfa_secret', 'disabled_at'])
    .where('id', '=', staffId)
    .executeTakeFirst();
  if (!row || row.disabled_at !== null) throw notFound('staff member');
  if (row.mfa_secret !== null) throw conflict('mfa_enrolled', 'MFA is already on for this account');
  const secret = newTotpSecret();
  await db
    .updateTable('staff')
    .set({ mfa_pending: seal(secret, staffId, settings) })
    .where('id', '=', staffId)
    .where('mfa_secret', 'is', null)
    .execute();
  return { secret: base32Encode(secret), otpauthUri: otpauthUri(settings.issuer, row.username, secret) };
}

/** `POST /staff/me/mfa/confirm`: the first code from the pending secret turns MFA on. */
export async function confirmMfa(
  db: Kysely<Database>,
  settings: MfaSettings,
  staffId: string,
  code: string,
  nowMs: number,
): Promise<{ enabled: true }> {
  const row = await db
    .selectFrom('staff')
    .select(['mfa_secret', 'mfa_pending', 'disabled_at'])
    .where('id', '=', staffId)
    .executeTakeFirst();
  if (!row || row.disabled_at !== null) throw notFound('staff member');
  if (row.mfa_secret !== null) throw conflict('mfa_enrolled', 'MFA is already on for this account');
  if (row.mfa_pending === null)
    throw conflict('mfa_not_started', 'start with POST /api/v1/staff/me/mfa, then confirm with a code');
  const step = matchTotp(unseal(row.mfa_pending, staffId, settings), code, nowMs);
  if (step === null) throw invalidCode();
  const result = await db
    .updateTable('staff')
    .set({ mfa_secret: row.mfa_pending, mfa_pending: null, mfa_last_step: step })
    .where('id', '=', staffId)
    .where('mfa_pending', '=', row.mfa_pending)
    .where('mfa_secret', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1)
    throw conflict('mfa_enrolment_changed', 'the enrolment changed meanwhile; start again');
  return { enabled: true };
}

/** Whether a staff member has MFA on. */
export async function mfaEnabled(db: Kysely<Database>, staffId: string): Promise<boolean> {
  const row = await db.selectFrom('staff').select('mfa_secret').where('id', '=', staffId).executeTakeFirst();
  return row?.mfa_secret != null;
}

/**
 * A sign-in's code: `ok` (and the step is now used), `invalid` (not a code of the current step ±1)
 * or `replayed` (its step, or a later one, was already used).
 */
export async function acceptMfaCode(
  db: Kysely<Database>,
  settings: MfaSettings,
  staffId: string,
  code: string,
  nowMs: number,
): Promise<'ok' | 'invalid' | 'replayed'> {
  const row = await db.selectFrom('staff').select('mfa_secret').where('id', '=', staffId).executeTakeFirst();
  if (!row?.mfa_secret) return 'invalid';
  const step = matchTotp(unseal(row.mfa_secret, staffId, settings), code, nowMs);
  if (step === null) return 'invalid';
  const result = await db
    .updateTable('staff')
    .set({ mfa_last_step: step })
    .where('id', '=', staffId)
    .where((eb) => eb.or([eb('mfa_last_step', 'is', null), eb('mfa_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 ? 'ok' : 'replayed';
}

/** `POST /staff/{id}/mfa/reset` (an admin): MFA off and any pending enrolment dropped; 404 for an unknown id. */
export async function resetMfa(db: Kysely<Database>, staffId: string): Promise<void> {
  const result = await db
    .updateTable('staff')
    .set({ mfa_secret: null, mfa_pending: null, mfa_last_step: null })
    .where('id', '=', staffId)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw notFound('staff member');
}
