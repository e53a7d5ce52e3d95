/** A return (RMA): what was asked back of one order and the warehouse that receives it (0020). */
export interface ReturnsTable {
  id: string;
  /** `<order number>-R<n>`: what people read out on the phone. */
  number: string;
  order_id: string;
  /** The API client whose order it is (a storefront sees its own). */
  client_id: string;
  warehouse_id: string;
  /** The shared return table's status (shared/src/domain/returns/transitions.ts). */
  status: string;
  note: string | null;
  /** Why an agent rejected it, or how it was authorized. */
  decision_note: string | null;
  /** The carrier bringing it back and its tracking number, when `in_transit` said (0022). */
  carrier: string | null;
  tracking_number: string | null;
  created_at: number;
  updated_at: number;
}

/** An exchange: a return linked to a replacement order held until it arrives (0022). */
export interface ExchangesTable {
  id: string;
  /** One exchange per return. */
  return_id: string;
  /** The order whose units come back. */
  order_id: string;
  /** The order that sends the new units: `pending_payment` over `hold_id` until released. */
  replacement_order_id: string;
  client_id: string;
  hold_id: string;
  /** The shared exchange table's status (shared/src/domain/returns/exchanges.ts). */
  status: string;
  /** 1 when the replacement ships before the return arrives. */
  advance: number;
  note: string | null;
  /** When the hub cancels it if still awaiting the return. */
  due_at: number;
  created_at: number;
  updated_at: number;
}

/** One SKU of a return: asked back, at the price paid, and what the warehouse accounted for. */
export interface ReturnLinesTable {
  return_id: string;
  line_no: number;
  sku: string;
  quantity: number;
  reason: string;
  unit_price: number;
  restocked: number;
  damaged: number;
  missing: number;
}

/** A refund the payment system made, recorded against an order; unique by (order, reference). */
export interface RefundsTable {
  id: string;
  order_id: string;
  return_id: string | null;
  amount: number;
  currency: string;
  reference: string;
  recorded_by: string;
  created_at: number;
}

/** Whether a warehouse receives returns lives in `warehouses.accepts_returns` (warehouses/tables.ts). */
export interface ReturnTables {
  returns: ReturnsTable;
  return_lines: ReturnLinesTable;
  refunds: RefundsTable;
  exchanges: ExchangesTable;
}
