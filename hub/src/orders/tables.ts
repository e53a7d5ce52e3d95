/** An order (docs/architecture.md, "Orders"). Customer and addresses are JSON; money is integer minor units. */
export interface OrdersTable {
  id: string;
  number: string;
  client_id: string;
  /** The stored status; `pending_payment` past `expires_at` reads as `expired` (the hold's clock). */
  status: string;
  hold_id: string;
  /** Sealed under the customer's data key (`pii:v1:…`, docs/operations.md "Personal data"), as are the addresses. */
  customer_json: string;
  /** The keyed hash of the customer's e-mail as looked up (`PersonalDataVault.emailKey`); null once erased. */
  customer_email: string | null;
  /** The key of the customer's tracking page `/track/{token}`: 128 random bits (0017). */
  tracking_token: string | null;
  shipping_json: string;
  billing_json: string | null;
  note: string | null;
  payment_reference: string | null;
  currency: string;
  total: number;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export interface OrderLinesTable {
  order_id: string;
  line_no: number;
  sku: string;
  quantity: number;
  unit_price: number;
  /** The buyer's configuration (JSON, 0023), when the product is configurable. */
  configuration_json: string | null;
  /** How `unit_price` was built (JSON `PriceBreakdown`, 0023). */
  price_json: string | null;
}

/** One per warehouse of a paid order: what that warehouse's edge picks, packs and ships. */
export interface FulfillmentsTable {
  id: string;
  order_id: string;
  warehouse_id: string;
  /** requested | packed | shipped | canceled: the warehouse's progress, as its facts report it */
  status: string;
  created_at: number;
  /** null | requested | accepted | refused: where a cancel request to the warehouse stands */
  cancel_state: string | null;
  /** The parcels as packed (JSON), once the warehouse packed. */
  packages_json: string | null;
}

/** The status history: every transition with the event that caused it. */
export interface OrderEventsTable {
  order_id: string;
  seq: number;
  event: string;
  from_status: string | null;
  to_status: string;
  note: string | null;
  at: number;
}

export interface OrderSequenceTable {
  id: number;
  last: number;
}

/** `allocations` is described with its current shape (0008) in shortage-schema.ts. */
export interface OrderTables {
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  fulfillments: FulfillmentsTable;
  order_events: OrderEventsTable;
  order_sequence: OrderSequenceTable;
}
