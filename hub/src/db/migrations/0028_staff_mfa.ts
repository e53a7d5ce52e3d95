// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Hub staff MFA (docs/operations.md, "Staff MFA"): a TOTP secret per staff member, sealed with the
 * hub's key-encryption key. `mfa_pending` holds a secret between enrolment and its confirming code;
 * `mfa_secret` is set once confirmed (MFA on); `mfa_last_step` is the time step of the last code
 * accepted, so a code works once.
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('staff').addColumn('mfa_secret', 'text').execute();
    await db.schema.alterTable('staff').addColumn('mfa_pending', 'text').execute();
    await db.schema.alterTable('staff').addColumn('mfa_last_step', 'bigint').execute();
  },
};
