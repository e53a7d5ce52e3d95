import { type OrderStatus, onHandStep, orderStatuses, type StockEventBody } from '@dovetail/shared';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { availableSql } from '../db/available.ts';
import { type EdgeView, listEdges } from '../warehouses/edges.ts';

/**
 * The operations console's read models (docs/architecture.md, "hub"): what the people who run the
 * operation look at, read from the database so any hub instance answers for every edge and worker.
 * Every list is bounded; warehouse-scoped staff (supervisors) see their own warehouses only.
 */

export type ConsoleScope = readonly string[] | '*';

/** How many rows each console list shows at most (a page for people, not an export). */
export const consoleRowsMax = 200;

const inScope = (scope: ConsoleScope): string[] | undefined =>
  scope === '*' ? undefined : scope.length > 0 ? [...scope] : [''];

// ---------------------------------------------------------------------------------------------
// Stock
// ---------------------------------------------------------------------------------------------

/** One `(SKU, warehouse)` partition as the hub replicates it, with docs/architecture.md's quantities. */
export type StockRow = {
  sku: string;
  warehouseId: string;
  onHand: number;
  /** Allocated to paid orders. */
  committed: number;
  /** Held for checkouts. */
  reserved: number;
  damaged: number;
  qualityControl: number;
  picked: number;
  edgeQuota: number;
  safetyStock: number;
  incoming: number;
  /** May be below zero: a shortage, shown as such rather than hidden as 0. */
  available: number;
  updatedAt: number;
};

export async function stockRows(
  db: Kysely<Database>,
  filters: { skuPrefix?: string | undefined; warehouseId?: string | undefined },
  scope: ConsoleScope,
  nowMs: number,
): Promise<StockRow[]> {
  let query = db
    .selectFrom('stock_partitions as p')
    .select([
      'p.sku',
      'p.warehouse_id',
      'p.on_hand',
      'p.committed',
      'p.reserved',
      'p.damaged',
      'p.quality_control',
      'p.picked',
      'p.edge_quota',
      'p.safety_stock',
      'p.incoming',
      'p.updated_at',
      availableSql('p', nowMs).as('available'),
    ])
    .orderBy('p.sku')
    .orderBy('p.warehouse_id')
    .limit(consoleRowsMax);
  const warehouses = inScope(scope);
  if (warehouses) query = query.where('p.warehouse_id', 'in', warehouses);
  if (filters.warehouseId) query = query.where('p.warehouse_id', '=', filters.warehouseId);
  if (filters.skuPrefix) {
    const prefix = filters.skuPrefix;
    // substr, not LIKE (case-insensitive on SQLite) or a range (collation-dependent on PostgreSQL).
    query = query.where((eb) => eb(eb.fn('substr', ['p.sku', eb.val(1), eb.val(prefix.length)]), '=', prefix));
  }
  const rows = await query.execute();
  return rows.map((row) => ({
    sku: row.sku,
    warehouseId: row.warehouse_id,
    onHand: Number(row.on_hand),
    committed: Number(row.committed),
    reserved: Number(row.reserved),
    damaged: Number(row.damaged),
    qualityControl: Number(row.quality_control),
    picked: Number(row.picked),
    edgeQuota: Number(row.edge_quota),
    safetyStock: Number(row.safety_stock),
    incoming: Number(row.incoming),
    available: Number(row.available),
    updatedAt: Number(row.updated_at),
  }));
}

export type HoldInForce = {
  holdId: string;
  clientId: string;
  warehouseId: string;
  quantity: number;
  createdAt: number;
  expiresAt: number;
};

export type AllocationInForce = {
  orderId: string;
  orderNumber: string;
  warehouseId: string;
  quantity: number;
  paidAt: number;
};

/** What keeps units of one SKU from being sold: checkout holds not yet expired, and allocations to paid orders. */
export async function holdsForSku(
  db: Kysely<Database>,
  sku: string,
  scope: ConsoleScope,
  nowMs: number,
): Promise<{ holds: HoldInForce[]; allocations: AllocationInForce[] }> {
  const warehouses = inScope(scope);
  let holds = db
    .selectFrom('hold_lines as l')
    .innerJoin('holds as h', 'h.id', 'l.hold_id')
    .select(['h.id', 'h.client_id', 'l.warehouse_id', 'l.quantity', 'h.created_at', 'l.expires_at'])
    .where('l.sku', '=', sku)
    .where('h.status', '=', 'active')
    .where('l.expires_at', '>', nowMs)
    .orderBy('l.expires_at')
    .limit(consoleRowsMax);
  if (warehouses) holds = holds.where('l.warehouse_id', 'in', warehouses);
  let allocations = db
    .selectFrom('allocations as a')
    .innerJoin('orders as o', 'o.id', 'a.order_id')
    .select(['a.order_id', 'o.number', 'a.warehouse_id', 'a.quantity', 'a.paid_at'])
    .where('a.sku', '=', sku)
    .where('a.status', '=', 'committed')
    .orderBy('a.paid_at')
    .limit(consoleRowsMax);
  if (warehouses) allocations = allocations.where('a.warehouse_id', 'in', warehouses);
  return {
    holds: (await holds.execute()).map((row) => ({
      holdId: row.id,
      clientId: row.client_id,
      warehouseId: row.warehouse_id,
      quantity: Number(row.quantity),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    })),
    allocations: (await allocations.execute()).map((row) => ({
      orderId: row.order_id,
      orderNumber: row.number,
      warehouseId: row.warehouse_id,
      quantity: Number(row.quantity),
      paidAt: Number(row.paid_at),
    })),
  };
}

export type SeriesPoint = { at: number; value: number };
export type Series = { warehouseId: string; points: SeriesPoint[] };

/**
 * On-hand per warehouse over the last `windowMs`: today's total walked back through the replicated
 * ledger (each event's `onHandStep`), oldest point first. A series starts at its oldest event read
 * (at most `eventsMax`) or at a reconcile, before which the ledger alone does not tell the figure.
 */
export async function stockHistory(
  db: Kysely<Database>,
  scope: ConsoleScope,
  nowMs: number,
  options: { windowMs: number; eventsMax: number },
): Promise<Series[]> {
  const warehouses = inScope(scope);
  let totals = db
    .selectFrom('stock_partitions')
    .select(['warehouse_id', sql<number | string>`sum(on_hand)`.as('on_hand')])
    .groupBy('warehouse_id')
    .orderBy('warehouse_id')
    .limit(consoleRowsMax);
  if (warehouses) totals = totals.where('warehouse_id', 'in', warehouses);
  const since = nowMs - options.windowMs;
  let events = db
    .selectFrom('stock_events')
    .select(['warehouse_id', 'at_ms', 'event_json'])
    .where('at_ms', '>', since)
    .orderBy('at_ms', 'desc')
    .limit(options.eventsMax);
  if (warehouses) events = events.where('warehouse_id', 'in', warehouses);
  const rows = await events.execute();
  const series: Series[] = [];
  for (const total of await totals.execute()) {
    let value = Number(total.on_hand);
    const points: SeriesPoint[] = [{ at: nowMs, value }];
    let complete = rows.length < options.eventsMax;
    for (const row of rows) {
      if (row.warehouse_id !== total.warehouse_id) continue;
      const at = Math.min(Number(row.at_ms), nowMs);
      points.push({ at, value });
      const step = onHandStep(JSON.parse(row.event_json) as StockEventBody);
      if (step.kind === 'restated') {
        complete = false;
        break;
      }
      value -= step.delta;
      points.push({ at, value });
    }
    if (complete) points.push({ at: since, value });
    series.push({ warehouseId: total.warehouse_id, points: points.reverse() });
  }
  return series;
}

// ---------------------------------------------------------------------------------------------
// Edges
// ---------------------------------------------------------------------------------------------

export type RejectionRow = {
  warehouseId: string;
  edgeSeq: number;
  sku: string;
  reason: string;
  message: string;
  createdAt: number;
};

export async function edgesOverview(
  db: Kysely<Database>,
  scope: ConsoleScope,
  nowMs: number,
): Promise<{ edges: EdgeView[]; rejections: RejectionRow[] }> {
  const edges = await listEdges(db, scope, nowMs);
  let query = db
    .selectFrom('sync_rejections')
    .select(['warehouse_id', 'edge_seq', 'sku', 'reason', 'message', 'created_at'])
    .orderBy('created_at', 'desc')
    .limit(50);
  const warehouses = inScope(scope);
  if (warehouses) query = query.where('warehouse_id', 'in', warehouses);
  const rejections = (await query.execute()).map((row) => ({
    warehouseId: row.warehouse_id,
    edgeSeq: Number(row.edge_seq),
    sku: row.sku,
    reason: row.reason,
    message: row.message,
    createdAt: Number(row.created_at),
  }));
  return { edges, rejections };
}

/**
 * How long scans took to reach the hub, per warehouse: for each applied event, the time from the
 * scan (`at_ms`, the edge's clock) to the hub applying it, the worst per time slot, oldest first.
 */
export async function syncLagHistory(
  db: Kysely<Database>,
  scope: ConsoleScope,
  nowMs: number,
  options: { windowMs: number; eventsMax: number; slots: number },
): Promise<Series[]> {
  const since = nowMs - options.windowMs;
  let query = db
    .selectFrom('stock_events')
    .select(['warehouse_id', 'at_ms', 'applied_at'])
    .where('applied_at', '>', since)
    .orderBy('applied_at', 'desc')
    .limit(options.eventsMax);
  const warehouses = inScope(scope);
  if (warehouses) query = query.where('warehouse_id', 'in', warehouses);
  const slotMs = Math.max(1, Math.ceil(options.windowMs / options.slots));
  const worst = new Map<string, Map<number, number>>();
  for (const row of await query.execute()) {
    const applied = Number(row.applied_at);
    const slot = Math.floor((applied - since) / slotMs);
    const lagSeconds = Math.max(0, (applied - Number(row.at_ms)) / 1000);
    const slots = worst.get(row.warehouse_id) ?? new Map<number, number>();
    slots.set(slot, Math.max(slots.get(slot) ?? 0, lagSeconds));
    worst.set(row.warehouse_id, slots);
  }
  return [...worst.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([warehouseId, slots]) => ({
      warehouseId,
      points: [...slots.entries()]
        .sort(([a], [b]) => a - b)
        .map(([slot, value]) => ({ at: since + slot * slotMs + slotMs / 2, value })),
    }));
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

export const stuckReasons = ['paid_unallocated', 'fulfillment_overdue', 'cancel_requested'] as const;
export type StuckReason = (typeof stuckReasons)[number];

export type StuckOrder = {
  orderId: string;
  orderNumber: string;
  status: string;
  reason: StuckReason;
  /** Since when it has been waiting (payment, the fulfillment request, the cancel request). */
  since: number;
  warehouseId: string | null;
};

/** Statuses in which an order waits on its warehouses to fulfil it. */
const fulfillingStatuses: OrderStatus[] = ['processing', 'partially_packed', 'packed', 'partially_shipped'];

/**
 * Orders that need a person, oldest first within each reason: paid with units no warehouse holds
 * for them (backordered, or never allocated), a fulfillment request unanswered past
 * `fulfillmentOverdueMs`, and cancel requests the warehouses have not answered.
 */
export async function stuckOrders(
  db: Kysely<Database>,
  nowMs: number,
  options: { fulfillmentOverdueMs: number },
): Promise<StuckOrder[]> {
  const unallocated = await db
    .selectFrom('orders as o')
    .select(['o.id', 'o.number', 'o.status', 'o.updated_at'])
    .where('o.status', 'in', fulfillingStatuses)
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('allocations as a')
            .select('a.id')
            .whereRef('a.order_id', '=', 'o.id')
            .where('a.status', '=', 'backordered'),
        ),
        eb.not(
          eb.exists(
            eb
              .selectFrom('allocations as a')
              .select('a.id')
              .whereRef('a.order_id', '=', 'o.id')
              .where('a.status', 'in', ['committed', 'shipped']),
          ),
        ),
      ]),
    )
    .orderBy('o.updated_at')
    .limit(consoleRowsMax)
    .execute();
  const overdue = await db
    .selectFrom('fulfillments as f')
    .innerJoin('orders as o', 'o.id', 'f.order_id')
    .select(['o.id', 'o.number', 'o.status', 'f.created_at', 'f.warehouse_id'])
    .where('f.status', 'in', ['requested', 'accepted'])
    .where('f.created_at', '<=', nowMs - options.fulfillmentOverdueMs)
    .where('o.status', 'in', fulfillingStatuses)
    .orderBy('f.created_at')
    .limit(consoleRowsMax)
    .execute();
  const canceling = await db
    .selectFrom('orders')
    .select(['id', 'number', 'status', 'updated_at'])
    .where('status', '=', 'cancel_requested')
    .orderBy('updated_at')
    .limit(consoleRowsMax)
    .execute();
  return [
    ...unallocated.map((row) => ({
      orderId: row.id,
      orderNumber: row.number,
      status: row.status,
      reason: 'paid_unallocated' as const,
      since: Number(row.updated_at),
      warehouseId: null,
    })),
    ...overdue.map((row) => ({
      orderId: row.id,
      orderNumber: row.number,
      status: row.status,
      reason: 'fulfillment_overdue' as const,
      since: Number(row.created_at),
      warehouseId: row.warehouse_id,
    })),
    ...canceling.map((row) => ({
      orderId: row.id,
      orderNumber: row.number,
      status: row.status,
      reason: 'cancel_requested' as const,
      since: Number(row.updated_at),
      warehouseId: null,
    })),
  ];
}

/** Orders per status; unpaid orders past their hold's expiry count as `expired`, as their views say. */
export async function orderCounts(db: Kysely<Database>, nowMs: number): Promise<Record<OrderStatus, number>> {
  const rows = await db
    .selectFrom('orders')
    .select([
      'status',
      sql<number | string>`sum(case when status = 'pending_payment' and expires_at <= ${nowMs} then 1 else 0 end)`.as(
        'lapsed',
      ),
      db.fn.countAll<number | string>().as('n'),
    ])
    .groupBy('status')
    .execute();
  const counts = Object.fromEntries(orderStatuses.map((status) => [status, 0])) as Record<OrderStatus, number>;
  for (const row of rows) {
    if (!(orderStatuses as readonly string[]).includes(row.status)) continue;
    const lapsed = Number(row.lapsed);
    counts[row.status as OrderStatus] += Number(row.n) - lapsed;
    counts.expired += lapsed;
  }
  return counts;
}

export type OrderRow = {
  orderId: string;
  orderNumber: string;
  status: string;
  total: number;
  currency: string;
  updatedAt: number;
};

/** The newest orders in one stored status. */
export async function ordersInStatus(db: Kysely<Database>, status: OrderStatus): Promise<OrderRow[]> {
  const rows = await db
    .selectFrom('orders')
    .select(['id', 'number', 'status', 'total', 'currency', 'updated_at'])
    .where('status', '=', status)
    .orderBy('updated_at', 'desc')
    .limit(consoleRowsMax)
    .execute();
  return rows.map((row) => ({
    orderId: row.id,
    orderNumber: row.number,
    status: row.status,
    total: Number(row.total),
    currency: row.currency,
    updatedAt: Number(row.updated_at),
  }));
}

// ---------------------------------------------------------------------------------------------
// Shortages and backorders
// ---------------------------------------------------------------------------------------------

export type ShortageRow = {
  orderId: string;
  orderNumber: string;
  warehouseId: string;
  sku: string;
  quantity: number;
  since: number;
};

/**
 * Open release requests (a warehouse found fewer units than it had committed and was asked to let
 * some go) and backordered allocations (units of paid orders no warehouse had), oldest first.
 */
export async function shortagesOverview(
  db: Kysely<Database>,
  scope: ConsoleScope,
): Promise<{ releaseRequests: ShortageRow[]; backorders: ShortageRow[] }> {
  const warehouses = inScope(scope);
  let requests = db
    .selectFrom('release_requests as r')
    .innerJoin('orders as o', 'o.id', 'r.order_id')
    .select(['r.order_id', 'o.number', 'r.warehouse_id', 'r.sku', 'r.quantity', 'r.created_at'])
    .where('r.status', '=', 'open')
    .orderBy('r.created_at')
    .limit(consoleRowsMax);
  if (warehouses) requests = requests.where('r.warehouse_id', 'in', warehouses);
  let backorders = db
    .selectFrom('allocations as a')
    .innerJoin('orders as o', 'o.id', 'a.order_id')
    .select(['a.order_id', 'o.number', 'a.warehouse_id', 'a.sku', 'a.quantity', 'a.paid_at'])
    .where('a.status', '=', 'backordered')
    .orderBy('a.paid_at')
    .limit(consoleRowsMax);
  if (warehouses) backorders = backorders.where('a.warehouse_id', 'in', warehouses);
  return {
    releaseRequests: (await requests.execute()).map((row) => ({
      orderId: row.order_id,
      orderNumber: row.number,
      warehouseId: row.warehouse_id,
      sku: row.sku,
      quantity: Number(row.quantity),
      since: Number(row.created_at),
    })),
    backorders: (await backorders.execute()).map((row) => ({
      orderId: row.order_id,
      orderNumber: row.number,
      warehouseId: row.warehouse_id,
      sku: row.sku,
      quantity: Number(row.quantity),
      since: Number(row.paid_at),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

export type EndpointHealth = {
  id: string;
  url: string;
  disabled: boolean;
  disabledReason: string | null;
  failingSince: number | null;
  failed: number;
  retrying: number;
};

export type FailingDelivery = {
  id: string;
  endpointId: string;
  endpointUrl: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
};

/**
 * Every endpoint with its failed and retrying deliveries (failing ones first), and the deliveries
 * that failed for good or are being retried after a failure, newest first. All owners' endpoints:
 * only roles that manage every endpoint (admins) are shown this.
 */
export async function webhooksOverview(
  db: Kysely<Database>,
): Promise<{ endpoints: EndpointHealth[]; deliveries: FailingDelivery[] }> {
  const endpoints = await db
    .selectFrom('webhook_endpoints as e')
    .select([
      'e.id',
      'e.url',
      'e.disabled_at',
      'e.disabled_reason',
      'e.failing_since',
      (eb) =>
        eb
          .selectFrom('webhook_deliveries as d')
          .select(eb.fn.countAll<number | string>().as('n'))
          .whereRef('d.endpoint_id', '=', 'e.id')
          .where('d.status', '=', 'failed')
          .as('failed'),
      (eb) =>
        eb
          .selectFrom('webhook_deliveries as d')
          .select(eb.fn.countAll<number | string>().as('n'))
          .whereRef('d.endpoint_id', '=', 'e.id')
          .where('d.status', '=', 'pending')
          .where('d.attempts', '>', 0)
          .as('retrying'),
    ])
    .orderBy('e.created_at')
    .limit(consoleRowsMax)
    .execute();
  const deliveries = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select([
      'd.id',
      'd.endpoint_id',
      'e.url',
      'v.type',
      'd.status',
      'd.attempts',
      'd.last_status_code',
      'd.last_error',
      'd.last_attempt_at',
      'd.next_attempt_at',
    ])
    .where((eb) =>
      eb.or([eb('d.status', '=', 'failed'), eb.and([eb('d.status', '=', 'pending'), eb('d.attempts', '>', 0)])]),
    )
    .orderBy('d.id', 'desc')
    .limit(consoleRowsMax)
    .execute();
  const health = endpoints.map((row) => ({
    id: row.id,
    url: row.url,
    disabled: row.disabled_at !== null,
    disabledReason: row.disabled_reason,
    failingSince: row.failing_since === null ? null : Number(row.failing_since),
    failed: Number(row.failed ?? 0),
    retrying: Number(row.retrying ?? 0),
  }));
  const troubled = (endpoint: EndpointHealth) =>
    endpoint.failingSince !== null || endpoint.disabled || endpoint.failed > 0 || endpoint.retrying > 0;
  return {
    endpoints: [...health.filter(troubled), ...health.filter((endpoint) => !troubled(endpoint))],
    deliveries: deliveries.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      endpointUrl: row.url,
      eventType: row.type,
      status: row.status,
      attempts: Number(row.attempts),
      lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
      lastError: row.last_error,
      lastAttemptAt: row.last_attempt_at === null ? null : Number(row.last_attempt_at),
      nextAttemptAt: row.status === 'pending' ? Number(row.next_attempt_at) : null,
    })),
  };
}
