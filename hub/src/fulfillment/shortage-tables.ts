import type { Generated } from 'kysely';

/**
 * Units of an order line committed at one warehouse once paid (`committed` in docs/architecture.md, "Quantities"), one row
 * per (fulfillment order, SKU, state). Supersedes the 0005 shape: a shortage splits a row (some
 * units stay committed, some were re-routed elsewhere or wait as backordered), and a re-route may
 * open a second fulfillment order at a warehouse that already serves the order, so the old key
 * (order, warehouse, sku) could no longer tell the rows apart.
 */
export interface AllocationsTable {
  id: string;
  order_id: string;
  fulfillment_id: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  /**
   * committed | released (cancel accepted, or released while the order was being canceled) | shipped |
   * rerouted (released by the warehouse after a shortage and committed elsewhere: see the order's
   * history and the rows of the new fulfillment) | backordered (released after a shortage with no
   * warehouse able to take them). Only `committed` counts in the partition's `committed`.
   */
  status: string;
  /** When the order was paid for (re-routed units keep their order's time): "newest first" sorts by it. */
  paid_at: number;
  /**
   * Units of this row the warehouse has already sent away (its `ship` stock events applied) while
   * the row is still `committed`, waiting for the `fulfillment_shipped` fact (0011). They are out of
   * the partition's `committed` already: `committed` = Σ (quantity − shipping) over committed rows.
   */
  shipping: Generated<number>;
}

/**
 * The hub asking a warehouse's edge to release units of one fulfillment order (docs/architecture.md, "Ownership": the edge
 * owns it once delivered; the hub only asks). `open` until the edge answers with
 * `fulfillment_released`; while open its units count as already on their way out of `committed`,
 * so the same shortage is never asked for twice.
 */
export interface ReleaseRequestsTable {
  id: string;
  fulfillment_id: string;
  order_id: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  /** open | answered */
  status: string;
  /** Units the edge released (≤ quantity), once answered. */
  released: number | null;
  /** The `inventory.shortage` event that asked. */
  shortage_event_id: string;
  created_at: number;
  answered_at: number | null;
}

/**
 * The hub's inventory events (`inventory.shortage`, …): self-contained records, listed at
 * `GET /inventory-events` and, later, delivered to partners as webhooks. `payload_json` carries
 * every figure a receiver needs; nothing in it needs a second lookup.
 */
export interface InventoryEventsTable {
  id: string;
  type: string;
  warehouse_id: string;
  sku: string;
  payload_json: string;
  created_at: number;
}

export interface ShortageTables {
  allocations: AllocationsTable;
  release_requests: ReleaseRequestsTable;
  inventory_events: InventoryEventsTable;
}
