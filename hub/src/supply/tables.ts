/** A purchase order (0030): goods expected at one warehouse; its open lines are the partitions' `incoming`. */
export interface PurchaseOrdersTable {
  id: string;
  warehouse_id: string;
  supplier: string | null;
  /** open | received | canceled */
  status: string;
  expected_at: number;
  created_at: number;
  updated_at: number;
}

/** One SKU of a purchase order; `quantity − received` of an open line is inside the partition's `incoming`. */
export interface PurchaseOrderLinesTable {
  purchase_order_id: string;
  line_no: number;
  warehouse_id: string;
  sku: string;
  quantity: number;
  received: number;
  /** 1 while the line still counts in `incoming` (the order open and the line not fully received). */
  open: number;
  expected_at: number;
}

/**
 * A hold or order line promised against supply (0030): `preorder` against the partition's `incoming`
 * (its `remaining` inside `preordered` while `counted = 1`), `production` against a production
 * request. `held` (the hold's, until `expires_at`) → `waiting` (paid) → `supplied` (every unit
 * arrived and was allocated), or `released` (hold released or expired, order canceled).
 */
export interface SupplyPromisesTable {
  id: string;
  hold_id: string;
  order_id: string | null;
  kind: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  remaining: number;
  status: string;
  counted: number;
  expires_at: number;
  expected_at: number;
  created_at: number;
}

/** What a paid made-to-order line asks of its producing warehouse (0030). */
export interface ProductionRequestsTable {
  id: string;
  promise_id: string;
  order_id: string;
  warehouse_id: string;
  sku: string;
  quantity: number;
  received: number;
  /** requested | completed | canceled */
  status: string;
  configuration_json: string | null;
  lead_time_days: number;
  due_at: number;
  created_at: number;
  updated_at: number;
}

export interface SupplyTables {
  purchase_orders: PurchaseOrdersTable;
  purchase_order_lines: PurchaseOrderLinesTable;
  supply_promises: SupplyPromisesTable;
  production_requests: ProductionRequestsTable;
}
