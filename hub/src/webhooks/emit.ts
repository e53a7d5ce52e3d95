import {
  type WebhookBody,
  type WebhookEventData,
  type WebhookEventType,
  assert,
  limits,
  mayReceiveWebhookEvent,
  newId,
  roles,
  type Role,
  webhookEventCatalogue,
} from '@dovetail/shared';
import { type Kysely, PostgresAdapter, type Transaction, sql } from 'kysely';
import type { Database } from '../database.ts';
import { vaultOf } from '../db/personal-data.ts';
import { webhookNotifier, webhookNotifyChannel } from './notifier.ts';

export type WebhookEmission<T extends WebhookEventType> = {
  type: T;
  /** Checked against the type's schema in shared/src/webhooks/events.ts before it is written. */
  data: WebhookEventData<T>;
  /** The warehouse the event is about: 3PL endpoints of that warehouse receive it. */
  warehouseId?: string;
  /** The API client whose order it is: that storefront's endpoints receive it. */
  clientId?: string;
  nowMs: number;
  /**
   * The customer whose address the data carries (`shippingAddress`): stored sealed under their key
   * and opened by the worker at send time (docs/operations.md, "Personal data").
   */
  personal?: { email: string };
};

type Candidate = {
  id: string;
  owner_role: string;
  owner_client_id: string;
  /** The owner's warehouses (the client's scope). */
  warehouses_json: string;
  /** The endpoint's own filter, within that scope; null: all of them. */
  endpoint_warehouses: string | null;
};

/**
 * Records a webhook event in the caller's transaction (the outbox: it commits with the change it
 * reports, or not at all) and fans it out: one delivery row per enabled endpoint subscribed to the
 * type and allowed to see it (admins everything; a 3PL only its warehouses' events; a storefront
 * only its own orders'). Nothing is stored when no endpoint wants the event. The delivery worker is
 * woken at commit. Returns the event id, or undefined when nobody subscribes.
 *
 * Given a Kysely instance instead of a transaction, it opens one of its own.
 */
export async function emitWebhookEvent<T extends WebhookEventType>(
  db: Transaction<Database> | Kysely<Database>,
  event: WebhookEmission<T>,
): Promise<string | undefined> {
  if (!db.isTransaction) return db.transaction().execute((trx) => emitWebhookEvent(trx, event));
  const trx = db as Transaction<Database>;
  const entry = webhookEventCatalogue[event.type];
  assert(entry.scope !== 'endpoint', `${event.type} is sent to one endpoint (sendPing), not emitted`);
  const data = entry.data.parse(event.data) as WebhookEventData<T>;
  const candidates = await trx
    .selectFrom('webhook_subscriptions as s')
    .innerJoin('webhook_endpoints as e', 'e.id', 's.endpoint_id')
    .innerJoin('api_clients as c', 'c.id', 'e.owner_client_id')
    .select([
      'e.id',
      'e.owner_role',
      'e.owner_client_id',
      'c.warehouses_json',
      'e.warehouses_json as endpoint_warehouses',
    ])
    .where('s.event_type', '=', event.type)
    .where('e.disabled_at', 'is', null)
    .where('c.revoked_at', 'is', null)
    .execute();
  const endpointIds = candidates.filter((candidate) => receives(candidate, event)).map((candidate) => candidate.id);
  if (endpointIds.length === 0) return undefined;
  const record = data as Record<string, unknown>;
  const stored =
    event.personal && record['shippingAddress'] !== undefined
      ? ({
          ...record,
          shippingAddress: await vaultOf(trx).seal(trx, event.personal.email, record['shippingAddress']),
        } as WebhookEventData<T>)
      : data;
  return insertEvent(trx, event.type, stored, endpointIds, event);
}

/**
 * Whether any enabled endpoint subscribes to `type`: emission points that must read rows to build a
 * payload ask this first, so an event nobody wants costs one indexed lookup.
 */
export async function anySubscriber(
  db: Transaction<Database> | Kysely<Database>,
  type: WebhookEventType,
): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_subscriptions as s')
    .innerJoin('webhook_endpoints as e', 'e.id', 's.endpoint_id')
    .select('s.endpoint_id')
    .where('s.event_type', '=', type)
    .where('e.disabled_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether one endpoint is allowed to receive this event (its owner's role and scope). */
function receives(candidate: Candidate, event: WebhookEmission<WebhookEventType>): boolean {
  const role = candidate.owner_role as Role;
  if (!(roles as readonly string[]).includes(role) || !mayReceiveWebhookEvent(role, event.type)) return false;
  // The endpoint's own warehouse filter applies to events that name a warehouse.
  if (candidate.endpoint_warehouses !== null && event.warehouseId !== undefined) {
    const filter = JSON.parse(candidate.endpoint_warehouses) as string[];
    if (!filter.includes(event.warehouseId)) return false;
  }
  if (role === 'admin') return true;
  const scope = webhookEventCatalogue[event.type].scope;
  if (scope === 'order') return event.clientId !== undefined && event.clientId === candidate.owner_client_id;
  if (scope === 'warehouse') {
    if (event.warehouseId === undefined) return false;
    const warehouses = JSON.parse(candidate.warehouses_json) as string[] | '*';
    return warehouses === '*' || warehouses.includes(event.warehouseId);
  }
  return false;
}

/**
 * Writes the event with its exact body and one pending delivery (`msg_…`, the `webhook-id` of every
 * attempt) per endpoint, due now, and wakes the worker at commit.
 */
export async function insertEvent<T extends WebhookEventType>(
  trx: Transaction<Database>,
  type: T,
  data: WebhookEventData<T>,
  endpointIds: readonly string[],
  scope: { warehouseId?: string; clientId?: string; nowMs: number },
): Promise<string> {
  const eventId = `evt_${compactId()}`;
  const body: WebhookBody<T> = { type, timestamp: new Date(scope.nowMs).toISOString(), data };
  const text = JSON.stringify(body);
  assert(Buffer.byteLength(text) <= limits.webhookPayloadBytesMax, `webhook body within bound (${text.length})`);
  await trx
    .insertInto('webhook_events')
    .values({
      id: eventId,
      type,
      warehouse_id: scope.warehouseId ?? null,
      client_id: scope.clientId ?? null,
      body: text,
      created_at: scope.nowMs,
    })
    .execute();
  await trx
    .insertInto('webhook_deliveries')
    .values(
      endpointIds.map((endpointId) => ({
        id: `msg_${compactId()}`,
        endpoint_id: endpointId,
        event_id: eventId,
        status: 'pending',
        attempts: 0,
        schedule_step: 0,
        next_attempt_at: scope.nowMs,
        lease_until: 0,
        lease_owner: null,
        last_attempt_at: null,
        last_status_code: null,
        last_error: null,
        created_at: scope.nowMs,
        completed_at: null,
      })),
    )
    .execute();
  await wakeWorkers(trx);
  return eventId;
}

/** At commit: PostgreSQL notifies every listening instance; on SQLite the one process wakes its worker. */
export async function wakeWorkers(trx: Transaction<Database> | Kysely<Database>): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${webhookNotifyChannel}, '')`.execute(trx);
  } else {
    // better-sqlite3 commits synchronously once the transaction's callback settles; the worker's
    // claim waits for Kysely's one connection anyway, so it reads the committed rows. Emissions
    // before the wake-up runs share it (PostgreSQL likewise folds a transaction's equal NOTIFYs).
    if (wakeScheduled) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      webhookNotifier.notify();
    });
  }
}

let wakeScheduled = false;

/** A time-ordered id without dashes: `msg_0190…`, `evt_0190…` (Standard Webhooks ids are opaque). */
export function compactId(): string {
  return newId().replaceAll('-', '');
}
