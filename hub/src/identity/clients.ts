import {
  conflict,
  limits,
  newId,
  notFound,
  type Permission,
  permissions,
  type Role,
  unprocessable,
} from '@dovetail/shared';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.ts';
import { assertWarehousesExist } from '../warehouses/service.ts';
import { clientSecretMatches, hashClientSecret, newClientSecret } from './secrets.ts';
import type { ApiClientsTable } from './tables.ts';

export const bootstrapClientId = 'admin';
export const clientRoles = [
  'admin',
  'storefront',
  '3pl',
  'customer_service',
  'carrier',
] as const satisfies readonly Role[];

export type ApiClientView = {
  clientId: string;
  name: string;
  role: Role;
  warehouses: string[] | '*';
  /** The carrier a `carrier` client reports tracking for. */
  carrier?: string;
  /** The client's own request budget; null for both: the hub's default applies. */
  requestsPerSecond: number | null;
  burst: number | null;
  /** Units this client may hold of one SKU at once; null: the hub's default (storefront clients only). */
  holdUnitsPerSkuMax: number | null;
  epoch: number;
  revoked: boolean;
  createdAt: number;
};

export type AuthenticatedClient = { id: string; role: Role; warehouses: string[] | '*'; epoch: number };

function toView(row: Selectable<ApiClientsTable>): ApiClientView {
  return {
    clientId: row.id,
    name: row.name,
    role: row.role as Role,
    warehouses: JSON.parse(row.warehouses_json) as string[] | '*',
    ...(row.carrier ? { carrier: row.carrier } : {}),
    requestsPerSecond: row.requests_per_second === null ? null : Number(row.requests_per_second),
    burst: row.requests_burst === null ? null : Number(row.requests_burst),
    holdUnitsPerSkuMax: row.hold_units_per_sku_max == null ? null : Number(row.hold_units_per_sku_max),
    epoch: Number(row.epoch),
    revoked: row.revoked_at !== null,
    createdAt: Number(row.created_at),
  };
}

/** The permissions a role holds: the scopes a token of that role may carry. */
export function scopesForRole(role: Role): Permission[] {
  return (Object.keys(permissions) as Permission[]).filter((permission) =>
    (permissions[permission].roles as readonly Role[]).includes(role),
  );
}

/**
 * Creates the bootstrap `admin` client on first start. Its secret is `DOVETAIL_ADMIN_SECRET` when
 * set, otherwise a generated one returned so the caller prints it once. Later starts change nothing.
 */
export async function ensureBootstrapAdmin(
  db: Kysely<Database>,
  configuredSecret: string | undefined,
  nowMs: number,
): Promise<{ created: boolean; generatedSecret?: string }> {
  const existing = await db
    .selectFrom('api_clients')
    .select('id')
    .where('id', '=', bootstrapClientId)
    .executeTakeFirst();
  if (existing) return { created: false };
  const secret = configuredSecret ?? newClientSecret();
  await db
    .insertInto('api_clients')
    .values({
      id: bootstrapClientId,
      name: 'bootstrap administrator',
      role: 'admin',
      warehouses_json: JSON.stringify('*'),
      secret_hash: hashClientSecret(secret),
      epoch: 1,
      revoked_at: null,
      created_at: nowMs,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return configuredSecret ? { created: true } : { created: true, generatedSecret: secret };
}

export async function createClient(
  db: Kysely<Database>,
  input: {
    name: string;
    role: (typeof clientRoles)[number];
    warehouses?: string[] | undefined;
    carrier?: string | undefined;
    requestsPerSecond?: number | undefined;
    burst?: number | undefined;
    holdUnitsPerSkuMax?: number | undefined;
  },
  nowMs: number,
): Promise<ApiClientView & { clientSecret: string }> {
  const budget = requestBudget(input.requestsPerSecond, input.burst);
  if ((input.role === 'carrier') !== (input.carrier !== undefined)) {
    throw unprocessable('carrier_required', 'a carrier client names its carrier, and only a carrier client does', {
      field: 'carrier',
    });
  }
  const clientSecret = newClientSecret();
  const warehouses: string[] | '*' = input.role === '3pl' ? (input.warehouses ?? []) : (input.warehouses ?? '*');
  if (warehouses !== '*') await assertWarehousesExist(db, warehouses);
  const row: Selectable<ApiClientsTable> = {
    id: `c-${newId()}`,
    name: input.name,
    role: input.role,
    warehouses_json: JSON.stringify(warehouses),
    secret_hash: hashClientSecret(clientSecret),
    carrier: input.carrier?.trim().toLowerCase() ?? null,
    requests_per_second: budget?.perSecond ?? null,
    requests_burst: budget?.burst ?? null,
    hold_units_per_sku_max: input.holdUnitsPerSkuMax ?? null,
    epoch: 1,
    revoked_at: null,
    created_at: nowMs,
  };
  await db.insertInto('api_clients').values(row).execute();
  return { ...toView(row), clientSecret };
}

/**
 * A budget as given: both figures or neither; a burst holds at least one second of requests. Only
 * the rate given: the burst is ten seconds of it (the hub default's ratio).
 */
function requestBudget(perSecond: number | undefined, burst: number | undefined) {
  if (perSecond === undefined) {
    if (burst !== undefined)
      throw unprocessable('budget_incomplete', 'give requestsPerSecond with burst', { field: 'requestsPerSecond' });
    return undefined;
  }
  const effectiveBurst = burst ?? Math.min(perSecond * 10, limits.clientRequestsBurstMax);
  if (effectiveBurst < perSecond) {
    throw unprocessable(
      'burst_below_rate',
      'burst must hold at least one second of requests (burst >= requestsPerSecond)',
      {
        field: 'burst',
      },
    );
  }
  return { perSecond, burst: effectiveBurst };
}

/**
 * `PATCH /clients/{id}`: sets the client's request budget, or (null) gives it back the hub's
 * default. Takes effect on this instance at once and on others within `principalCacheMs`. Its hold
 * cap (`holdUnitsPerSkuMax`, null: the hub's default) applies to the next hold at once. A field
 * left out keeps its value.
 */
export async function setClientBudget(
  db: Kysely<Database>,
  clientId: string,
  input: {
    requestsPerSecond?: number | null | undefined;
    burst?: number | undefined;
    holdUnitsPerSkuMax?: number | null | undefined;
  },
): Promise<ApiClientView> {
  if (input.requestsPerSecond === undefined && input.burst !== undefined)
    throw unprocessable('budget_incomplete', 'give requestsPerSecond with burst', { field: 'requestsPerSecond' });
  const budget = input.requestsPerSecond == null ? undefined : requestBudget(input.requestsPerSecond, input.burst);
  const changes = {
    ...(input.requestsPerSecond !== undefined
      ? { requests_per_second: budget?.perSecond ?? null, requests_burst: budget?.burst ?? null }
      : {}),
    ...(input.holdUnitsPerSkuMax !== undefined ? { hold_units_per_sku_max: input.holdUnitsPerSkuMax } : {}),
  };
  if (Object.keys(changes).length > 0)
    await db.updateTable('api_clients').set(changes).where('id', '=', clientId).execute();
  const row = await db.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirst();
  if (!row) throw notFound('client');
  return toView(row);
}

export async function listClients(db: Kysely<Database>, limit: number): Promise<ApiClientView[]> {
  const rows = await db.selectFrom('api_clients').selectAll().orderBy('id').limit(limit).execute();
  return rows.map(toView);
}

export async function revokeClient(db: Kysely<Database>, clientId: string, nowMs: number): Promise<ApiClientView> {
  if (clientId === bootstrapClientId)
    throw conflict('bootstrap_client', 'the bootstrap admin client cannot be revoked');
  const result = await db
    .updateTable('api_clients')
    .set({ revoked_at: nowMs })
    .where('id', '=', clientId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const row = await db.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirst();
  if (!row) throw notFound('client');
  if (Number(result.numUpdatedRows) === 0 && row.revoked_at === null) throw notFound('client');
  return toView(row);
}

/** The client for these credentials, or null: unknown id, wrong secret and revoked look alike. */
export async function authenticateClient(
  db: Kysely<Database>,
  clientId: string,
  secret: string,
): Promise<{ client: AuthenticatedClient } | { client: null; known: boolean }> {
  const row = await db.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirst();
  const matches = clientSecretMatches(secret, row?.secret_hash ?? '0'.repeat(64));
  if (!row || !matches || row.revoked_at !== null) return { client: null, known: row !== undefined };
  const view = toView(row);
  return { client: { id: view.clientId, role: view.role, warehouses: view.warehouses, epoch: view.epoch } };
}

/** Whether tokens minted for this client at this epoch are still good (not revoked, not re-enrolled). */
/** What authentication needs to know of a client on each token: is it still active, with what budget. */
export type ClientStanding = { active: boolean; budget: { perSecond: number; burst: number } | undefined };

export async function clientStanding(db: Kysely<Database>, clientId: string, epoch: number): Promise<ClientStanding> {
  const row = await db
    .selectFrom('api_clients')
    .select(['revoked_at', 'epoch', 'requests_per_second', 'requests_burst'])
    .where('id', '=', clientId)
    .executeTakeFirst();
  const active = row !== undefined && row.revoked_at === null && Number(row.epoch) === epoch;
  const budget =
    row?.requests_per_second != null && row.requests_burst != null
      ? { perSecond: Number(row.requests_per_second), burst: Number(row.requests_burst) }
      : undefined;
  return { active, budget };
}
