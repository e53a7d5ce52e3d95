import {
  type Principal,
  type Role,
  type WebhookDeliveryStatus,
  type WebhookEndpointCreate,
  type WebhookEndpointPatch,
  type WebhookEventType,
  conflict,
  forbidden,
  limits,
  mayReceiveWebhookEvent,
  notFound,
  unprocessable,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { refusedUrlReason } from './address-guard.ts';
import { compactId, insertEvent, wakeWorkers } from './emit.ts';
import { type WebhookSettings, sealSecret } from './settings.ts';
import { newWebhookSecret } from './signature.ts';
import type { WebhookEndpointsTable } from './tables.ts';

/**
 * Webhook endpoints as their owners manage them. Object-level rules: only API clients own endpoints;
 * admins see and manage every endpoint, anyone else only their own (another's is a 404, never a 403,
 * so ids cannot be probed); a role subscribes only to the event types the catalogue opens to it, and
 * a 3PL's warehouse filter stays within its warehouses.
 */
export type WebhookOwner = Principal & { kind: 'client' | 'staff' | 'external' };

export type WebhookEndpointView = {
  id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  warehouses: string[] | null;
  ownerClientId: string;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  createdAt: string;
  updatedAt: string;
};

type EndpointRow = Selectable<WebhookEndpointsTable>;
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function toView(row: EndpointRow, events: string[]): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: [...events].sort() as WebhookEventType[],
    warehouses: row.warehouses_json === null ? null : (JSON.parse(row.warehouses_json) as string[]),
    ownerClientId: row.owner_client_id,
    enabled: row.disabled_at === null,
    disabledReason: row.disabled_reason,
    disabledAt: iso(row.disabled_at),
    failingSince: iso(row.failing_since),
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
  };
}

function requireClient(owner: WebhookOwner): void {
  if (owner.kind !== 'client') {
    throw forbidden('webhook endpoints belong to API clients: use a client_credentials token', 'api_client_required');
  }
}

function checkEvents(role: Role, events: readonly WebhookEventType[]): void {
  const refused = events.filter((type) => !mayReceiveWebhookEvent(role, type));
  if (refused.length > 0) {
    throw forbidden(`role ${role} may not subscribe to ${refused.join(', ')}`, 'event_not_allowed');
  }
}

/** A warehouse filter stays within the owner's warehouses (an admin's are all). */
function checkWarehouses(owner: Principal, warehouses: readonly string[] | null | undefined): void {
  for (const warehouseId of warehouses ?? []) {
    if (owner.warehouses !== '*' && !owner.warehouses.includes(warehouseId)) {
      throw forbidden(`not permitted for warehouse ${warehouseId}`, 'outside_warehouse_scope');
    }
  }
}

async function checkUrl(url: string, settings: WebhookSettings): Promise<void> {
  const reason = await refusedUrlReason(url, settings.allowPrivate, settings.allowHosts);
  if (reason) {
    throw unprocessable('webhook_url_not_allowed', `webhook URL refused: ${reason}`, {
      issues: [{ path: 'url', message: reason, code: 'webhook_url_not_allowed' }],
    });
  }
}

async function eventsOf(db: Kysely<Database>, endpointIds: string[]): Promise<Map<string, string[]>> {
  const byEndpoint = new Map<string, string[]>();
  if (endpointIds.length === 0) return byEndpoint;
  const rows = await db
    .selectFrom('webhook_subscriptions')
    .select(['endpoint_id', 'event_type'])
    .where('endpoint_id', 'in', endpointIds)
    .execute();
  for (const row of rows) byEndpoint.set(row.endpoint_id, [...(byEndpoint.get(row.endpoint_id) ?? []), row.event_type]);
  return byEndpoint;
}

/** The endpoint if `owner` may see it; otherwise 404 (whether or not it exists). */
async function visibleEndpoint(
  db: Kysely<Database> | Transaction<Database>,
  owner: WebhookOwner,
  id: string,
): Promise<EndpointRow> {
  let query = db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  if (owner.role !== 'admin') query = query.where('owner_client_id', '=', owner.subject);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('webhook endpoint');
  return row;
}

export async function createEndpoint(
  db: Kysely<Database>,
  owner: WebhookOwner,
  input: WebhookEndpointCreate,
  settings: WebhookSettings,
  nowMs: number,
): Promise<WebhookEndpointView & { secret: string }> {
  requireClient(owner);
  checkEvents(owner.role, input.events);
  checkWarehouses(owner, input.warehouses);
  await checkUrl(input.url, settings);
  const id = `ep_${compactId()}`;
  const secret = newWebhookSecret();
  const row: EndpointRow = {
    id,
    owner_client_id: owner.subject,
    owner_role: owner.role,
    url: input.url,
    description: input.description ?? null,
    warehouses_json: input.warehouses ? JSON.stringify(input.warehouses) : null,
    secret: sealSecret(secret, id, settings),
    previous_secret: null,
    previous_secret_expires_at: null,
    disabled_at: null,
    disabled_reason: null,
    failing_since: null,
    created_at: nowMs,
    updated_at: nowMs,
  };
  await db.transaction().execute(async (trx) => {
    const counts = await trx
      .selectFrom('webhook_endpoints')
      .select((eb) => [
        eb.fn.countAll<number>().as('all'),
        eb.fn.sum<number>(eb.case().when('owner_client_id', '=', owner.subject).then(1).else(0).end()).as('own'),
      ])
      .executeTakeFirstOrThrow();
    if (Number(counts.own ?? 0) >= limits.webhookEndpointsPerClientMax) {
      throw conflict(
        'webhook_endpoints_exhausted',
        `a client may register at most ${limits.webhookEndpointsPerClientMax} endpoints`,
      );
    }
    if (Number(counts.all) >= limits.webhookEndpointsMax) {
      throw conflict('webhook_endpoints_exhausted', `the hub holds at most ${limits.webhookEndpointsMax} endpoints`);
    }
    await trx.insertInto('webhook_endpoints').values(row).execute();
    await trx
      .insertInto('webhook_subscriptions')
      .values(input.events.map((type) => ({ endpoint_id: id, event_type: type })))
      .execute();
  });
  return { ...toView(row, input.events), secret };
}

export async function listEndpoints(
  db: Kysely<Database>,
  owner: WebhookOwner,
  page: { cursor?: string | undefined; limit: number },
): Promise<{ items: WebhookEndpointView[]; nextCursor: string | null }> {
  const after = decodeCursor(page.cursor);
  let query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .orderBy('id')
    .limit(page.limit + 1);
  if (owner.role !== 'admin') query = query.where('owner_client_id', '=', owner.subject);
  if (after !== undefined) query = query.where('id', '>', after);
  const rows = await query.execute();
  const pageRows = rows.slice(0, page.limit);
  const events = await eventsOf(
    db,
    pageRows.map((row) => row.id),
  );
  const last = pageRows.at(-1);
  return {
    items: pageRows.map((row) => toView(row, events.get(row.id) ?? [])),
    nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : null,
  };
}

export async function getEndpoint(db: Kysely<Database>, owner: WebhookOwner, id: string): Promise<WebhookEndpointView> {
  const row = await visibleEndpoint(db, owner, id);
  return toView(row, (await eventsOf(db, [id])).get(id) ?? []);
}

export async function updateEndpoint(
  db: Kysely<Database>,
  owner: WebhookOwner,
  id: string,
  patch: WebhookEndpointPatch,
  settings: WebhookSettings,
  nowMs: number,
): Promise<WebhookEndpointView> {
  const current = await visibleEndpoint(db, owner, id);
  // The endpoint's owner's role decides what it may receive (an admin editing a 3PL's endpoint included).
  const ownerRole = current.owner_role as Role;
  if (patch.events) checkEvents(ownerRole, patch.events);
  if (patch.warehouses) {
    checkWarehouses(owner, patch.warehouses);
    if (owner.role === 'admin' && ownerRole !== 'admin') {
      const client = await db
        .selectFrom('api_clients')
        .select(['warehouses_json', 'role'])
        .where('id', '=', current.owner_client_id)
        .executeTakeFirst();
      const scope = client ? (JSON.parse(client.warehouses_json) as string[] | '*') : [];
      checkWarehouses({ subject: current.owner_client_id, role: ownerRole, warehouses: scope }, patch.warehouses);
    }
  }
  if (patch.url !== undefined) await checkUrl(patch.url, settings);
  await db.transaction().execute(async (trx) => {
    const set: Partial<EndpointRow> = { updated_at: nowMs };
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.warehouses !== undefined)
      set.warehouses_json = patch.warehouses ? JSON.stringify(patch.warehouses) : null;
    if (patch.disabled === true && current.disabled_at === null) {
      set.disabled_at = nowMs;
      set.disabled_reason = 'manual';
    }
    if (patch.disabled === false) {
      set.disabled_at = null;
      set.disabled_reason = null;
      set.failing_since = null;
    }
    await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).execute();
    if (patch.events) {
      await trx.deleteFrom('webhook_subscriptions').where('endpoint_id', '=', id).execute();
      await trx
        .insertInto('webhook_subscriptions')
        .values(patch.events.map((type) => ({ endpoint_id: id, event_type: type })))
        .execute();
    }
    // Re-enabled: its pending deliveries are due again now, not at their old backoff.
    if (patch.disabled === false && current.disabled_at !== null) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: nowMs })
        .where('endpoint_id', '=', id)
        .where('status', '=', 'pending')
        .execute();
      await wakeWorkers(trx);
    }
  });
  return getEndpoint(db, owner, id);
}

export async function deleteEndpoint(db: Kysely<Database>, owner: WebhookOwner, id: string): Promise<void> {
  await visibleEndpoint(db, owner, id);
  // Subscriptions, deliveries and attempts go with it (foreign keys cascade); events stay for others.
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('webhook_subscriptions').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_attempts').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
  });
}

/**
 * A new secret, shown once. The old one keeps signing (a second signature in `webhook-signature`)
 * for `webhookPreviousSecretTtlMs`, so receivers can switch without dropping a delivery.
 */
export async function rotateSecret(
  db: Kysely<Database>,
  owner: WebhookOwner,
  id: string,
  settings: WebhookSettings,
  nowMs: number,
): Promise<{ id: string; secret: string; previousSecretExpiresAt: string }> {
  const current = await visibleEndpoint(db, owner, id);
  const secret = newWebhookSecret();
  const expiresAt = nowMs + limits.webhookPreviousSecretTtlMs;
  await db
    .updateTable('webhook_endpoints')
    .set({
      secret: sealSecret(secret, id, settings),
      previous_secret: current.secret,
      previous_secret_expires_at: expiresAt,
      updated_at: nowMs,
    })
    .where('id', '=', id)
    .execute();
  return { id, secret, previousSecretExpiresAt: new Date(expiresAt).toISOString() };
}

/** `POST /webhooks/{id}/test`: a `ping` to this endpoint alone, delivered like any event. */
export async function sendPing(
  db: Kysely<Database>,
  owner: WebhookOwner,
  id: string,
  nowMs: number,
): Promise<{ eventId: string; deliveryId: string }> {
  const endpoint = await visibleEndpoint(db, owner, id);
  if (endpoint.disabled_at !== null) {
    throw conflict('webhook_endpoint_disabled', 'the endpoint is disabled: enable it first (PATCH disabled: false)');
  }
  return db.transaction().execute(async (trx) => {
    const eventId = await insertEvent(trx, 'ping', { endpointId: id, message: 'ping from the Dovetail hub' }, [id], {
      nowMs,
    });
    const delivery = await trx
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow();
    return { eventId, deliveryId: delivery.id };
  });
}

export type WebhookAttemptView = {
  attempt: number;
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
};

export type WebhookDeliveryView = {
  id: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
  /** Newest first, at most `webhookAttemptsListedMax`. */
  attemptLog: WebhookAttemptView[];
};

/** Newest first, cursor-paged; `status` filters. */
export async function listDeliveries(
  db: Kysely<Database>,
  owner: WebhookOwner,
  endpointId: string,
  filter: { status?: WebhookDeliveryStatus | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: WebhookDeliveryView[]; nextCursor: string | null }> {
  await visibleEndpoint(db, owner, endpointId);
  const before = decodeCursor(filter.cursor);
  let query = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
    .select([
      'd.id',
      'd.event_id',
      'v.type',
      'd.status',
      'd.attempts',
      'd.next_attempt_at',
      'd.last_status_code',
      'd.last_error',
      'd.created_at',
      'd.completed_at',
    ])
    .where('d.endpoint_id', '=', endpointId)
    .orderBy('d.id', 'desc')
    .limit(filter.limit + 1);
  if (filter.status) query = query.where('d.status', '=', filter.status);
  if (before !== undefined) query = query.where('d.id', '<', before);
  const rows = await query.execute();
  const pageRows = rows.slice(0, filter.limit);
  const attempts = await attemptsOf(
    db,
    pageRows.map((row) => row.id),
  );
  const last = pageRows.at(-1);
  return {
    items: pageRows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      eventType: row.type,
      status: row.status as WebhookDeliveryStatus,
      attempts: Number(row.attempts),
      nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
      lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
      lastError: row.last_error,
      createdAt: iso(row.created_at) as string,
      completedAt: iso(row.completed_at),
      attemptLog: attempts.get(row.id) ?? [],
    })),
    nextCursor: rows.length > filter.limit && last ? encodeCursor(last.id) : null,
  };
}

async function attemptsOf(db: Kysely<Database>, deliveryIds: string[]): Promise<Map<string, WebhookAttemptView[]>> {
  const byDelivery = new Map<string, WebhookAttemptView[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('delivery_id')
    .orderBy('attempt', 'desc')
    .execute();
  for (const row of rows) {
    const list = byDelivery.get(row.delivery_id) ?? [];
    if (list.length >= limits.webhookAttemptsListedMax) continue;
    list.push({
      attempt: Number(row.attempt),
      at: iso(row.started_at) as string,
      statusCode: row.status_code === null ? null : Number(row.status_code),
      latencyMs: Number(row.latency_ms),
      error: row.error,
      responseBody: row.response_body,
    });
    byDelivery.set(row.delivery_id, list);
  }
  return byDelivery;
}

/**
 * Sends a delivery again now, with the same `webhook-id` (receivers deduplicate on it), and restarts
 * its retry schedule. One in flight is left alone (409): it is being sent.
 */
export async function retryDelivery(
  db: Kysely<Database>,
  owner: WebhookOwner,
  endpointId: string,
  deliveryId: string,
  nowMs: number,
): Promise<{ id: string; status: WebhookDeliveryStatus; nextAttemptAt: string }> {
  const endpoint = await visibleEndpoint(db, owner, endpointId);
  if (endpoint.disabled_at !== null) {
    throw conflict('webhook_endpoint_disabled', 'the endpoint is disabled: enable it first (PATCH disabled: false)');
  }
  return db.transaction().execute(async (trx) => {
    const delivery = await trx
      .selectFrom('webhook_deliveries')
      .select(['id', 'lease_until', 'status'])
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    if (!delivery) throw notFound('delivery');
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', schedule_step: 0, next_attempt_at: nowMs, completed_at: null })
      .where('id', '=', deliveryId)
      .where('lease_until', '<=', nowMs)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      throw conflict('webhook_delivery_in_flight', 'the delivery is being sent right now; look again in a moment');
    }
    await wakeWorkers(trx);
    return { id: deliveryId, status: 'pending', nextAttemptAt: new Date(nowMs).toISOString() };
  });
}
