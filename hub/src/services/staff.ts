import { type Role, newId } from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import { decoyPasswordHash, hashPassword, passwordMatches } from '../auth/secrets.ts';
import type { Database, StaffTable } from '../db/schema.ts';
import { conflict, notFound } from '../http/errors.ts';

export const staffRoles = ['admin', 'supervisor', 'warehouse_staff', 'customer_service'] as const satisfies readonly Role[];
export type StaffRole = (typeof staffRoles)[number];

export type StaffView = { id: string; username: string; role: StaffRole; warehouses: string[] | '*'; disabled: boolean; createdAt: number };
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
  const warehouses: string[] | '*' = input.role === 'admin' || input.role === 'customer_service' ? '*' : input.warehouses;
  const row: Selectable<StaffTable> = {
    id: newId(),
    username: input.username,
    role: input.role,
    warehouses_json: JSON.stringify(warehouses),
    password_hash: await hashPassword(input.password),
    disabled_at: null,
    created_at: nowMs,
  };
  await db.insertInto('staff').values(row).execute();
  return toView(row);
}

export async function listStaff(db: Kysely<Database>, scope: readonly string[] | '*', limit: number): Promise<StaffView[]> {
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
  await db.updateTable('staff').set({ disabled_at: nowMs }).where('id', '=', id).where('disabled_at', 'is', null).execute();
  return getStaff(db, id);
}

/** The staff member for these credentials, or null; unknown users cost the same scrypt as known ones. */
export async function verifyStaffLogin(db: Kysely<Database>, username: string, password: string): Promise<AuthenticatedStaff | null> {
  const row = await db.selectFrom('staff').selectAll().where('username', '=', username).executeTakeFirst();
  const ok = await passwordMatches(password, row?.password_hash ?? decoyPasswordHash);
  if (!row || !ok || row.disabled_at !== null) return null;
  const view = toView(row);
  return { id: view.id, username: view.username, role: view.role, warehouses: view.warehouses };
}

export async function staffIsActive(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('staff').select('disabled_at').where('id', '=', id).executeTakeFirst();
  return row !== undefined && row.disabled_at === null;
}
