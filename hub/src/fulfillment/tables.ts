/**
 * What the hub learns of fulfillment orders from their warehouses (issue 5): the facts as applied,
 * and the shipments they created. The edge owns pick/pack/ship; these are the hub's record of it.
 */
export interface EdgeFactsTable {
  event_id: string;
  warehouse_id: string;
  edge_id: string;
  edge_seq: number;
  type: string;
  fulfillment_id: string;
  event_json: string;
  applied_at: number;
}

/** A parcel set handed to a carrier by a warehouse: created by the `fulfillment_shipped` fact. */
export interface ShipmentsTable {
  id: string;
  order_id: string;
  fulfillment_id: string;
  warehouse_id: string;
  carrier: string;
  tracking_number: string;
  packages_json: string;
  lines_json: string;
  /** in_transit | delivered (carrier tracking events move it; DESIGN §7) */
  status: string;
  shipped_at: number;
  created_at: number;
}

export interface FulfillmentFactTables {
  edge_facts: EdgeFactsTable;
  shipments: ShipmentsTable;
}
