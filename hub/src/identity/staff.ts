import { conflict, DomainError, newId, notFound, type Role, seesEveryRecord } from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { mapUniqueViolation } from '../db/errors.ts';
import { appendDownstream } from '../downstream/outbox.ts';
import { assertWarehousesExist, warehouseChannel } from '../warehouses/service.ts';
import { decoyPasswordHash, hashPassword, passwordMatches } from './secrets.ts';
import type { StaffTable } from './tables.ts';

export const staffRoles = [
  'admin',
  'supervisor',
  'warehouse_staff',
  'customer_service',
] as const satisfies readonly Role[];
export type StaffRole = (typeof staffRoles)[number];

export type StaffView = {
  id: string;
  username: string;
  role: StaffRole;
  warehouses: string[] | '*';
  disabled: boolean;
  createdAt: number;
};
export type AuthenticatedStaff = { id: string; username: string; role: StaffRole; warehouses: string[] | '*' };

function toView(row: Selectable<StaffTable>): StaffView {
  return {
    id: row.id,
    username: row.username,
    role: row.role as StaffRole,
    warehouses: JSON.parse(row.warehouses_json) as string[] | '*',
    disabled: row.disabled_at !== null,
    createdAt: Number(row.created_at),
  };
}

export async function createStaff(
  db: Kysely<Database>,
  input: { username: string; password: string; role: StaffRole; warehouses: string[] },
  nowMs: number,
): Promise<StaffView> {
  const existing = await db.selectFrom('staff').select('id').where('username', '=', input.username).executeTakeFirst();
  if (existing) throw conflict('username_taken', `username ${input.username} is taken`);
  // Admins and customer service work across warehouses; floor roles are scoped to the listed ones.
  const warehouses: string[] | '*' = seesEveryRecord(input.role) ? '*' : input.warehouses;
  if (warehouses !== '*') {
    if (warehouses.length === 0)
      throw new DomainError('unprocessable', 'warehouses_required', `a ${input.role} works at one or more warehouses`);
    await assertWarehousesExist(db, warehouses);
  }
  const row: Selectable<StaffTable> = {
    id: newId(),
    username: input.username,
    role: input.role,
    warehouses_json: JSON.stringify(warehouses),
    password_hash: await hashPassword(input.password),
    mfa_secret: null,
    mfa_pending: null,
    mfa_last_step: null,
    disabled_at: null,
    created_at: nowMs,
  };
  const view = toView(row);
  await mapUniqueViolation(
    () =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('staff').values(row).execute();
        await appendRoster(trx, row, nowMs);
      }),
    () => conflict('username_taken', `username ${input.username} is taken`),
  );
  return view;
}

/**
 * Roster changes go to each of the person's warehouse channels with the password hash, so the edge
 * can sign people in while its link is down (docs/architecture.md, "Ownership"). Cross-warehouse roles (admin, customer
 * service) do not sign in at edges and are not replicated.
 */
async function appendRoster(trx: Transaction<Database>, row: Selectable<StaffTable>, nowMs: number): Promise<void> {
  const view = toView(row);
  if (view.warehouses === '*') return;
  const entry = {
    id: view.id,
    username: view.username,
    role: view.role,
    passwordHash: row.password_hash,
    disabled: view.disabled,
  };
  for (const warehouseId of view.warehouses) {
    await appendDownstream(
      trx,
      warehouseChannel(warehouseId),
      view.disabled ? 'staff.disabled' : 'staff.upserted',
      entry,
      nowMs,
    );
  }
}

export async function listStaff(
  db: Kysely<Database>,
  scope: readonly string[] | '*',
  limit: number,
): Promise<StaffView[]> {
  const rows = await db.selectFrom('staff').selectAll().orderBy('username').limit(limit).execute();
  const views = rows.map(toView);
  if (scope === '*') return views;
  return views.filter((view) => view.warehouses !== '*' && view.warehouses.some((id) => scope.includes(id)));
}

export async function getStaff(db: Kysely<Database>, id: string): Promise<StaffView> {
  const row = await db.selectFrom('staff').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('staff member');
  return toView(row);
}

export async function disableStaff(db: Kysely<Database>, id: string, nowMs: number): Promise<StaffView> {
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('staff')
      .set({ disabled_at: nowMs })
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return;
    const row = await trx.selectFrom('staff').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await appendRoster(trx, row, nowMs);
  });
  return getStaff(db, id);
}

/** The staff member for these credentials, or null; unknown users cost the same scrypt as known ones. */
/** The staff member, or null with whether the username exists (the sign-in throttle tracks known names only). */
export async function verifyStaffLogin(
  db: Kysely<Database>,
  username: string,
  password: string,
): Promise<{ staff: AuthenticatedStaff } | { staff: null; known: boolean }> {
  const row = await db.selectFrom('staff').selectAll().where('username', '=', username).executeTakeFirst();
  const ok = await passwordMatches(password, row?.password_hash ?? decoyPasswordHash);
  if (!row || !ok || row.disabled_at !== null) return { staff: null, known: row !== undefined };
  const view = toView(row);
  return { staff: { id: view.id, username: view.username, role: view.role, warehouses: view.warehouses } };
}

export async function staffIsActive(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('staff').select('disabled_at').where('id', '=', id).executeTakeFirst();
  return row !== undefined && row.disabled_at === null;
}
