/**
 * Webhooks (Standard Webhooks): endpoints partners register, the events the hub emits (written in
 * the same transaction as the change they report: the outbox), and one delivery per (event,
 * endpoint) that the delivery worker sends until it succeeds or its retry schedule is exhausted.
 */
export interface WebhookEndpointsTable {
  /** `ep_…` */
  id: string;
  /** The API client that registered it: its role and warehouses scope what it may receive. */
  owner_client_id: string;
  owner_role: string;
  url: string;
  description: string | null;
  /** Only events of these warehouses (JSON array); null: every warehouse the owner may see. */
  warehouses_json: string | null;
  /** `whsec_…`, sealed with `HUB_KEY_ENCRYPTION_KEY` when one is configured. */
  secret: string;
  /** The secret before the last rotation: it still signs (a second signature) until it expires. */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  /** Set when disabled (by the owner, by a 410 Gone, or after failing for days); null while enabled. */
  disabled_at: number | null;
  /** manual | gone | failing */
  disabled_reason: string | null;
  /** The first failed attempt since the last success; null while the endpoint answers. */
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

/** The event types an endpoint subscribes to: one row each, so emission finds endpoints by type. */
export interface WebhookSubscriptionsTable {
  endpoint_id: string;
  event_type: string;
}

/** One emitted event: its body is fixed at emission, so every attempt sends the same bytes. */
export interface WebhookEventsTable {
  /** `evt_…` */
  id: string;
  type: string;
  warehouse_id: string | null;
  client_id: string | null;
  /** The exact request body `{type, timestamp, data}` as sent. */
  body: string;
  created_at: number;
}

/**
 * One event to one endpoint. Its id (`msg_…`) is the `webhook-id` of every attempt, so receivers
 * deduplicate retries. A worker claims it by moving `lease_until` past now (atomic: a conditional
 * update, under `FOR UPDATE SKIP LOCKED` on PostgreSQL), so no two workers send it at once.
 */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  /** pending | succeeded | failed (schedule exhausted, or the endpoint answered 410) */
  status: string;
  /** Attempts made so far. */
  attempts: number;
  /** The next automatic attempt's index in the retry schedule (reset by a manual retry). */
  schedule_step: number;
  next_attempt_at: number;
  /** A worker holds the delivery until then; 0 when free. */
  lease_until: number;
  lease_owner: string | null;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  completed_at: number | null;
}

/** Every attempt as it went: what `GET /webhooks/{id}/deliveries` shows. */
export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  endpoint_id: string;
  started_at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** The start of the receiver's answer, bounded. */
  response_body: string | null;
}

export interface WebhookTables {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}
